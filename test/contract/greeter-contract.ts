import { z } from 'zod';
import { defineService, defineTopic } from '../../src/index.js';

/** The contract the contract tests serve and call: each streaming kind, nested fields, a topic. */
export const Greeter = defineService('typed-greeter', {
  Greeter: {
    Hello: {
      request: z.object({
        name: z.string(),
        profile: z.object({ tags: z.array(z.string().max(5)) }).optional(),
      }),
      response: z.object({ msg: z.string() }),
    },
    Flaky: {
      request: z.object({ key: z.string() }),
      response: z.object({ node: z.string() }),
      idempotent: true,
    },
    Countdown: {
      request: z.object({ from: z.number().int().min(0) }),
      response: z.object({ n: z.number() }),
      stream: 'server',
    },
    Sum: {
      request: z.object({ value: z.number() }),
      response: z.object({ total: z.number(), count: z.number() }),
      stream: 'client',
    },
    Chat: {
      request: z.object({ text: z.string() }),
      response: z.object({ echo: z.string() }),
      stream: 'bidi',
    },
  },
});

export const Joined = defineTopic('typed.user.joined', z.object({ user: z.string().min(1) }));
