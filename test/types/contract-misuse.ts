// Each line after a `@ts-expect-error` marker is a wrong use of a contract that must not compile.
// The build compiles this file with the markers (a wrong use that compiled would leave its marker
// unused, which fails the build); test/contract/type-fixtures.test.ts compiles it without them and
// expects an error on each marked line. It imports the built package, as an application does.
/* eslint-disable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access,
   @typescript-eslint/no-unsafe-assignment -- each wrong use is deliberate; the compiler's error on
   it is what is tested */
import { z } from 'zod';
import {
  clientFor,
  createService,
  defineService,
  defineTopic,
  implement,
  publisherFor,
  subscribeTo,
  ofType,
  type ContractHandlers,
} from 'tsmicro';

interface Ping {
  seq: number;
}

export const Greeter = defineService('greeter', {
  Greeter: {
    Hello: {
      request: z.object({ name: z.string(), age: z.number().optional() }),
      response: z.object({ msg: z.string() }),
    },
    Countdown: {
      request: z.object({ from: z.number() }),
      response: z.object({ n: z.number() }),
      stream: 'server',
    },
    Sum: {
      request: z.object({ value: z.number() }),
      response: z.object({ total: z.number() }),
      stream: 'client',
    },
    Chat: { request: ofType<Ping>(), response: ofType<Ping>(), stream: 'bidi' },
  },
});
export const Joined = defineTopic('user.joined', z.object({ user: z.string() }));

export async function wrongCalls(): Promise<void> {
  const service = createService({ name: 'fixture' });
  const greeter = clientFor(Greeter, service.client);

  // Right uses, so the wrong ones below are wrong for the reason they say.
  const reply = await greeter.Greeter.Hello({ name: 'Ada' }, { timeoutMs: 100 });
  reply.msg.toUpperCase();
  const countdown = await greeter.Greeter.Countdown({ from: 3 });
  for await (const { n } of countdown) n.toFixed();
  const sum = await greeter.Greeter.Sum();
  await sum.send({ value: 1 });
  (await sum.closeAndRecv()).total.toFixed();
  const chat = await greeter.Greeter.Chat();
  await chat.send({ seq: 1 });

  // @ts-expect-error unknown endpoint
  await greeter.Greeter.Goodbye({ name: 'Ada' });
  // @ts-expect-error unknown handler
  await greeter.Farewell.Hello({ name: 'Ada' });
  // @ts-expect-error wrong field type
  await greeter.Greeter.Hello({ name: 42 });
  // @ts-expect-error missing field
  await greeter.Greeter.Hello({});
  // @ts-expect-error a field the request does not have
  await greeter.Greeter.Hello({ name: 'Ada', nmae: 'Ada' });
  // @ts-expect-error wrong response use: the response has no such field
  reply.message.toUpperCase();
  // @ts-expect-error wrong response use: msg is a string
  reply.msg.toFixed();
  // @ts-expect-error send on a server-only stream
  await countdown.send({ from: 1 });
  // @ts-expect-error a client stream takes no request up front
  await greeter.Greeter.Sum({ value: 1 });
  // @ts-expect-error wrong message type on a bidi stream
  await chat.send({ seq: 'one' });
  // @ts-expect-error a wrong call option
  await greeter.Greeter.Hello({ name: 'Ada' }, { timeout: 100 });

  const joined = publisherFor(Joined, service.client);
  await joined.publish({ user: 'ada' });
  // @ts-expect-error wrong event field type
  await joined.publish({ user: 1 });
}

export function wrongHandlers(): void {
  const service = createService({ name: 'fixture' });
  const right: ContractHandlers<typeof Greeter> = {
    Greeter: {
      Hello: ({ name }) => ({ msg: name }),
      Countdown: async ({ from }, stream) => {
        await stream.send({ n: from });
      },
      Sum: async (values) => {
        let total = 0;
        for await (const { value } of values) total += value;
        return { total };
      },
      Chat: async (stream) => {
        for await (const ping of stream) await stream.send(ping);
      },
    },
  };
  implement(service, Greeter, right);
  subscribeTo(service, Joined, (event) => event.user.toUpperCase());

  implement(service, Greeter, {
    Greeter: {
      ...right.Greeter,
      // @ts-expect-error handler returns the wrong response type
      Hello: () => ({ msg: 1 }),
    },
  });
  implement(service, Greeter, {
    Greeter: {
      ...right.Greeter,
      // @ts-expect-error handler reads a request field that does not exist
      Hello: (req) => ({ msg: req.nickname }),
    },
  });
  // @ts-expect-error a handler method is missing
  implement(service, Greeter, { Greeter: { Hello: () => ({ msg: '' }) } });
  // @ts-expect-error subscriber reads an event field that does not exist
  subscribeTo(service, Joined, (event) => event.userId);
}

export function httpRouteMisuse(): void {
  defineService('routes', {
    R: {
      Get: {
        request: z.object({ id: z.string() }),
        response: z.object({}),
        http: { method: 'GET', path: '/r/:id' },
      },
      // @ts-expect-error an HTTP route with a method the gateway does not route
      Bad: { request: z.object({}), response: z.object({}), http: { method: 'FETCH', path: '/r' } },
      // @ts-expect-error an HTTP route without a path
      NoPath: { request: z.object({}), response: z.object({}), http: { method: 'POST' } },
    },
  });
}
