// The greeter's contract: the one file the server and its clients share. Zod gives the types and
// the run-time validation; any Standard Schema library (Valibot, ArkType, ...) does the same, and
// `ofType<T>()` gives types without validation.
import { z } from 'zod';
import { defineService, defineTopic } from 'tsmicro';

export const Greeter = defineService('typed-greeter', {
  Greeter: {
    Hello: {
      request: z.object({
        name: z.string().min(1),
        langs: z.array(z.enum(['en', 'fr'])).optional(),
      }),
      response: z.object({ msg: z.string() }),
      idempotent: true,
      description: 'Greets someone, in the first of their languages',
    },
    Countdown: {
      request: z.object({ from: z.number().int().min(0).max(10) }),
      response: z.object({ n: z.number() }),
      stream: 'server',
    },
  },
});

export const Greeted = defineTopic('typed-greeter.greeted', z.object({ name: z.string() }));
