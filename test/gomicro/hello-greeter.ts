import { implement, type Service } from '../../src/index.js';
import type { ProtoContract } from '../../src/contract/proto.js';
import { Mood, type GreeterDefinition } from '../gen/helloworld.js';

/**
 * The tsmicro side of helloworld.Greeter in the interop suites, the twin of the peer's
 * protoGreeter (test/gomicro/peer/proto.go): every answer is computed from every field of the
 * request, so a field that crossed wrongly shows.
 */
export function implementHelloGreeter(
  service: Service,
  contract: ProtoContract<typeof GreeterDefinition>,
): void {
  implement(service, contract, {
    Greeter: {
      SayHello: (req) => ({
        message: `hello ${req.name} from ts [${req.tags.join(',')}]`,
        visits: String(BigInt(req.visits) + 1n),
        mood: req.mood === Mood.HAPPY ? Mood.GRUMPY : Mood.HAPPY,
      }),
      async Countdown(req, stream) {
        for (let n = req.from; n >= 1; n--) await stream.send({ n });
      },
      async Sum(numbers) {
        let total = 0n;
        let count = 0;
        for await (const x of numbers) {
          total += BigInt(x.value);
          count++;
        }
        return { total: String(total), count };
      },
      async Chat(stream) {
        for await (const m of stream) await stream.send({ seq: m.seq * 2, text: m.text });
      },
    },
  });
}
