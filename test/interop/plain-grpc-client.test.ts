import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { startFixture, type Fixture } from '../helpers/processes.js';
import { HELLO_PROTO } from '../helpers/protos.js';

// The caller here is plain @grpc/grpc-js with the .proto (no tsmicro on its side); the server is
// a tsmicro service in its own process (test/fixtures/proto-greeter-server.ts).

type Unary = (
  req: object,
  md: grpc.Metadata,
  cb: (err: grpc.ServiceError | null, rsp?: Record<string, unknown>) => void,
) => grpc.ClientUnaryCall;
interface GreeterClient extends grpc.Client {
  SayHello: Unary;
  Countdown(req: object): grpc.ClientReadableStream<{ n: number }>;
  Sum(
    cb: (err: grpc.ServiceError | null, rsp?: { total: string; count: number }) => void,
  ): grpc.ClientWritableStream<object>;
  Chat(): grpc.ClientDuplexStream<object, { seq: number; text: string }>;
}

const pkg = grpc.loadPackageDefinition(
  loadSync(HELLO_PROTO, { longs: String, enums: String, defaults: true }),
) as unknown as {
  helloworld: { Greeter: new (address: string, creds: grpc.ChannelCredentials) => GreeterClient };
};

let server: Fixture;
let client: GreeterClient;

before(async () => {
  server = startFixture('proto-greeter-server');
  const address = (await server.waitForLine(/^ready (\S+)$/))[1];
  client = new pkg.helloworld.Greeter(address, grpc.credentials.createInsecure());
});
after(async () => {
  client?.close();
  await server?.kill('SIGTERM');
});

function sayHello(req: object, md = new grpc.Metadata()): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) =>
    client.SayHello(req, md, (err, rsp) => (err ? reject(err) : resolve(rsp!))),
  );
}

/**
 * Decodes grpc-status-details-bin with the standard google.rpc.Status and go-micro's errors.Error.
 */
function errorDetail(err: grpc.ServiceError): Record<string, unknown> {
  const root = protobuf.Root.fromJSON({
    nested: {
      Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
      Status: {
        fields: {
          code: { type: 'int32', id: 1 },
          message: { type: 'string', id: 2 },
          details: { rule: 'repeated', type: 'Any', id: 3 },
        },
      },
      Error: {
        fields: {
          id: { type: 'string', id: 1 },
          code: { type: 'int32', id: 2 },
          detail: { type: 'string', id: 3 },
          status: { type: 'string', id: 4 },
        },
      },
    },
  });
  const raw = err.metadata.get('grpc-status-details-bin')[0];
  assert.ok(Buffer.isBuffer(raw), 'grpc-status-details-bin is present');
  const status = root.lookupType('Status').toObject(root.lookupType('Status').decode(raw)) as {
    code: number;
    message: string;
    details: { type_url: string; value: Uint8Array }[];
  };
  assert.equal(status.code, err.code);
  assert.equal(status.details.length, 1, 'the errors.Error detail first and only');
  assert.equal(status.details[0].type_url, 'type.googleapis.com/errors.Error');
  return root
    .lookupType('Error')
    .toObject(root.lookupType('Error').decode(status.details[0].value));
}

test('unary: protobuf both ways (int64 as string, enum by name), negotiated from plain application/grpc', async () => {
  const rsp = await sayHello({ name: 'Ada', visits: '9007199254740993', mood: 'HAPPY' });
  assert.deepEqual(rsp, { message: 'Hello Ada', visits: '9007199254740994', mood: 'HAPPY' });
});

test('errors arrive with the mapped gRPC code, go-micro JSON in the message and errors.Error in the details', async () => {
  const notFound = await sayHello({ name: 'nobody' }).then(
    () => assert.fail('expected an error'),
    (e: grpc.ServiceError) => e,
  );
  assert.equal(notFound.code, grpc.status.NOT_FOUND);
  assert.deepEqual(JSON.parse(notFound.details), {
    id: 'helloworld',
    code: 404,
    detail: 'no such person: nobody',
    status: 'Not Found',
  });
  assert.deepEqual(errorDetail(notFound), {
    id: 'helloworld',
    code: 404,
    detail: 'no such person: nobody',
    status: 'Not Found',
  });

  const bad = await sayHello({ name: '' }).then(
    () => assert.fail('expected an error'),
    (e: grpc.ServiceError) => e,
  );
  assert.equal(bad.code, grpc.status.INVALID_ARGUMENT);
  assert.equal(errorDetail(bad).code, 400);
});

test('an unknown method is a 404 with NOT_FOUND, not a hang', async () => {
  const call = client.makeUnaryRequest(
    '/helloworld.Greeter/Nope',
    (x: Buffer) => x,
    (x: Buffer) => x,
    Buffer.alloc(0),
    () => {},
  );
  const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  assert.equal(status.code, grpc.status.NOT_FOUND);
  assert.match(status.details, /Greeter\.Nope/);
});

test('server streaming: every message in order, then OK; an error after some messages keeps them', async () => {
  const got: number[] = [];
  for await (const m of client.Countdown({ from: 5 })) got.push((m as { n: number }).n);
  assert.deepEqual(got, [5, 4, 3, 2, 1, 0]);

  const partial: number[] = [];
  const err = await (async () => {
    for await (const m of client.Countdown({ from: 1001 })) partial.push((m as { n: number }).n);
  })().then(
    () => undefined,
    (e: grpc.ServiceError) => e,
  );
  assert.equal(partial.length, 1002);
  assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
  assert.equal(errorDetail(err).detail, 'too far to count');
});

test('client streaming: many requests, one reply', async () => {
  const rsp = await new Promise<{ total: string; count: number }>((resolve, reject) => {
    const call = client.Sum((err, r) => (err ? reject(err) : resolve(r!)));
    for (let i = 1; i <= 100; i++) call.write({ value: String(i * 1_000_000_000) });
    call.end();
  });
  assert.deepEqual(rsp, { total: '5050000000000', count: 100 });
});

test('bidi: replies interleave with requests; an error mid-stream arrives as a status', async () => {
  const chat = client.Chat();
  const replies: string[] = [];
  const done = new Promise<grpc.ServiceError | undefined>((resolve) => {
    chat.on('data', (m: { seq: number; text: string }) => replies.push(`${m.seq}:${m.text}`));
    chat.on('error', resolve);
    chat.on('end', () => resolve(undefined));
  });
  for (let i = 0; i < 3; i++) chat.write({ seq: i, text: `hi ${i}` });
  chat.write({ seq: 3, text: 'fail' });
  const err = await done;
  assert.deepEqual(replies, ['0:HI 0', '1:HI 1', '2:HI 2']);
  assert.equal(err?.code, grpc.status.ALREADY_EXISTS);
  assert.deepEqual(errorDetail(err), {
    id: 'helloworld',
    code: 409,
    detail: 'message 3 refused',
    status: 'Conflict',
  });
});

test('a grpc-go style application/grpc+json caller is answered in JSON', async () => {
  const md = new grpc.Metadata();
  md.set('x-content-type', 'application/grpc+json');
  const body = Buffer.from(JSON.stringify({ name: 'Json', visits: '1', mood: 'GRUMPY' }));
  const reply = await new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(
      '/helloworld.Greeter/SayHello',
      (x: Buffer) => x,
      (x: Buffer) => x,
      body,
      md,
      (err, r) => (err ? reject(err) : resolve(r!)),
    );
  });
  assert.deepEqual(JSON.parse(reply.toString('utf8')), {
    message: 'Hello Json',
    visits: '2',
    mood: 'GRUMPY',
  });
});

test('truncated and mutated protobuf bodies are 400s (bounded fuzz); the server keeps serving', async () => {
  const good = Buffer.from(
    protobuf.Writer.create().uint32(10).string('Fuzz').uint32(16).int64(42).finish(),
  );
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const cases: Buffer[] = [];
  for (let cut = 1; cut < good.length; cut++) cases.push(good.subarray(0, cut));
  for (let i = 0; i < 200; i++) {
    const b = Buffer.from(good);
    for (let k = 0; k <= rand(3); k++) b[rand(b.length)] = rand(256);
    cases.push(b);
  }
  for (let i = 0; i < 50; i++)
    cases.push(Buffer.from(Array.from({ length: 1 + rand(64) }, () => rand(256))));
  const codes = new Map<number, number>();
  for (const body of cases) {
    const st = await new Promise<grpc.StatusObject>((resolve) => {
      const call = client.makeUnaryRequest(
        '/helloworld.Greeter/SayHello',
        (x: Buffer) => x,
        (x: Buffer) => x,
        body,
        () => {},
      );
      call.on('status', resolve);
    });
    codes.set(st.code, (codes.get(st.code) ?? 0) + 1);
    // A mutation may still decode (protobuf is lenient): then it is answered or refused as a
    // request, never with an internal error or a broken connection.
    assert.ok(
      [grpc.status.OK, grpc.status.INVALID_ARGUMENT].includes(st.code),
      `status ${st.code} ${st.details}`,
    );
  }
  assert.ok(
    (codes.get(grpc.status.INVALID_ARGUMENT) ?? 0) >= good.length - 1,
    'every truncation is refused',
  );
  assert.deepEqual(await sayHello({ name: 'after', visits: '1' }), {
    message: 'Hello after',
    visits: '2',
    mood: 'MOOD_UNSPECIFIED',
  });
});
