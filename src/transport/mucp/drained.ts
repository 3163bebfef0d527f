import type net from 'node:net';

/**
 * Resolves once `socket` takes more writes: at once when its buffer is under the high-water
 * mark, else on `drain` — or on `close`, so a sender never waits on a dead connection.
 */
export function drained(socket: net.Socket): Promise<void> {
  if (socket.destroyed || !socket.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}
