import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type mDNS from 'multicast-dns';
import {
  Names,
  instanceAnswers,
  listAnswers,
  localNode,
  readResponse,
  serviceAnswers,
} from '../../../src/registry/mdns/records.js';

// The records go-micro's mDNS registry writes, built and read back (the wire itself is exercised
// by the mdns and go-micro tests): what a packet yields, and what a crammed one does not.
const names = new Names('micro');
const info = { name: 'ts.rec', version: '1', endpoints: [] };
const response = (answers: mDNS.ResponsePacket['answers']): mDNS.ResponsePacket =>
  ({ type: 'response', answers, additionals: [] }) as unknown as mDNS.ResponsePacket;

describe('mDNS records', () => {
  test("a node's answers read back as that node; TTL 0 is a goodbye; list entries give names", () => {
    const n = localNode(
      info,
      { id: 'ts.rec-1', address: '10.1.2.3:4567', metadata: { a: 'b' } },
      30,
    );
    const seen = readResponse(names, response(serviceAnswers(names, n, 'host.example')));
    assert.deepEqual(seen.skipped, []);
    assert.deepEqual(seen.nodes, [
      {
        instance: 'ts.rec-1.ts.rec.micro',
        service: info,
        node: { id: 'ts.rec-1', address: '10.1.2.3:4567', metadata: { a: 'b' } },
        ttl: 30,
      },
    ]);
    const bye = readResponse(names, response(instanceAnswers(names, n, 'host.example', 0)));
    assert.equal(bye.nodes[0].ttl, 0);
    const v6 = localNode(info, { id: 'v6', address: '[fd00::7]:80', metadata: {} }, 30);
    assert.equal(
      readResponse(names, response(instanceAnswers(names, v6, 'h'))).nodes[0].node.address,
      '[fd00::7]:80',
    );
    const listed = readResponse(names, response(listAnswers(names, 'ts.rec', 'h', 30)));
    assert.deepEqual(listed, { nodes: [], listed: [{ name: 'ts.rec', ttl: 30 }], skipped: [] });
  });

  test('a packet crammed with nodes yields the first 16 and says it skipped the rest', () => {
    const answers = Array.from({ length: 40 }, (_, i) =>
      instanceAnswers(
        names,
        localNode(info, { id: `n${i}`, address: `10.0.0.${i + 1}:80`, metadata: {} }, 30),
        `h${i}`,
      ),
    ).flat();
    const seen = readResponse(names, response(answers));
    assert.equal(seen.nodes.length, 16);
    assert.deepEqual(
      seen.nodes.map((x) => x.node.id),
      Array.from({ length: 16 }, (_, i) => `n${i}`),
    );
    assert.equal(seen.skipped.length, 1);
    assert.match(seen.skipped[0], /more than 16 nodes in one packet/);
  });

  test('records of another domain, or without an address, give no node', () => {
    const n = localNode(info, { id: 'x', address: '10.0.0.1:80', metadata: {} }, 30);
    const other = readResponse(new Names('local'), response(instanceAnswers(names, n, 'h')));
    assert.deepEqual(other, { nodes: [], listed: [], skipped: [] });
    const [srv, , txt] = instanceAnswers(names, n, 'h');
    const noAddress = readResponse(names, response([srv, txt]));
    assert.deepEqual(noAddress.nodes, []);
    assert.match(noAddress.skipped[0], /no address/);
  });
});
