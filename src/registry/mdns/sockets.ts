import { createSocket, type RemoteInfo } from 'node:dgram';
import type mDNS from 'multicast-dns';
import { importPeers } from '../../internal/optional-peer.js';

const makeMdns = (
  await importPeers('tsmicro/registry/mdns', { 'multicast-dns': () => import('multicast-dns') })
)['multicast-dns'].default;

/**
 * The two UDP sockets of the registry, both through multicast-dns:
 * - the responder, bound to the group's port (5353) with SO_REUSEADDR beside every other mDNS
 *   speaker of the host, joined to the group: it hears queries, announcements and goodbyes, and
 *   sends the multicast ones;
 * - the querier, on a port of its own, which sends queries: go-micro's responder answers a query
 *   by unicast to where it came from, and a unicast datagram to port 5353, shared by several
 *   sockets, reaches only one of them (go-micro's client queries from its own port too).
 */
export interface Sockets {
  /** Sends a response or query to the group. Resolves when sent; never rejects (UDP). */
  multicast(packet: mDNS.ResponseOutgoingPacket | mDNS.QueryOutgoingPacket): Promise<void>;
  /** Sends a response to one querier. */
  unicast(packet: mDNS.ResponseOutgoingPacket, to: RemoteInfo): Promise<void>;
  /** Sends a query to the group from the querier's port: answers come back to it. */
  query(packet: mDNS.QueryOutgoingPacket): Promise<void>;
  close(): Promise<void>;
}

export interface SocketOptions {
  iface: string | undefined;
  port: number;
  group: string;
  onQuery(packet: mDNS.QueryPacket, from: RemoteInfo): void;
  onResponse(packet: mDNS.ResponsePacket, from: RemoteInfo): void;
  /** A packet that does not decode, or an interface that could not join the group. */
  onWarning(err: Error): void;
}

/** Opens both sockets; rejects when the responder cannot bind (EACCES, EADDRINUSE). */
export async function openSockets(o: SocketOptions): Promise<Sockets> {
  const common = { interface: o.iface, ip: o.group, reuseAddr: true, loopback: true, ttl: 255 };
  // Bound to the wildcard address: bound to an interface's address, Linux would not deliver
  // datagrams sent to the group.
  const responder = makeMdns({ ...common, port: o.port, bind: '0.0.0.0' });
  // Bound and set up before its first send: multicast-dns would bind it on that send and only
  // then choose the interface, so the first query could leave from another one.
  const socket = createSocket({ type: 'udp4' });
  const bound = new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '0.0.0.0', () => {
      socket.removeListener('error', reject);
      socket.setMulticastTTL(255);
      socket.setMulticastLoopback(true);
      if (o.iface !== undefined) socket.setMulticastInterface(o.iface);
      resolve();
    });
  });
  const querier = makeMdns({ socket, port: 0, multicast: false, bind: false });
  const group = { port: o.port, address: o.group };
  for (const m of [responder, querier]) {
    m.on('warning', (err: Error) => o.onWarning(err));
    m.on('response', (p: mDNS.ResponsePacket, r: RemoteInfo) => o.onResponse(p, r));
  }
  responder.on('query', (p: mDNS.QueryPacket, r: RemoteInfo) => o.onQuery(p, r));
  try {
    await Promise.all([
      new Promise<void>((resolve, reject) => {
        responder.once('ready', resolve);
        responder.once('error', reject);
      }),
      bound,
    ]);
  } catch (err) {
    responder.destroy();
    querier.destroy();
    throw err;
  }
  responder.on('error', (err: Error) => o.onWarning(err));
  querier.on('error', (err: Error) => o.onWarning(err));
  const done =
    (resolve: () => void) =>
    (err: Error | null): void => {
      if (err) o.onWarning(err);
      resolve();
    };
  return {
    multicast: (packet) =>
      new Promise((resolve) => {
        if ('questions' in packet && !('answers' in packet))
          responder.query(packet, group, done(resolve));
        else responder.respond(packet as mDNS.ResponseOutgoingPacket, group, done(resolve));
      }),
    unicast: (packet, to) =>
      new Promise((resolve) =>
        responder.respond(packet, { port: to.port, address: to.address }, done(resolve)),
      ),
    query: (packet) => new Promise((resolve) => querier.query(packet, group, done(resolve))),
    close: async () => {
      await Promise.all([
        new Promise<void>((r) => responder.destroy(r)),
        new Promise<void>((r) => querier.destroy(r)),
      ]);
    },
  };
}
