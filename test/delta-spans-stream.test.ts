import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrames, Kind, MAX_SPAN_BYTES, type Frame } from '@skiff/protocol';
import { AgentClient, runPush } from '@skiff/daemon';
import { FaultAgent } from './support/fault-agent.ts';

/**
 * A large file changed in place goes as SPAN frames that ask the agent to
 * copy runs of its old version, up to MAX_SPAN_BYTES each. Each goes out as
 * soon as it is made, ending its websocket message, so that the agent
 * copies while the push still reads the rest of the file: packed with the
 * others, a few hundred bytes each, they reached the agent only with the
 * last bytes of the file. Through runPush into a real agent, whose copy
 * must then be the source byte for byte.
 */
const PUSH_TIMEOUT_MS = 30_000;
const FILE_BYTES = 3 * MAX_SPAN_BYTES + 12_345;

describe('a delta streams its spans', () => {
  let base: string;
  let project: string;
  let agent: FaultAgent;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'skiff-spans-'));
    project = join(base, 'project');
    await mkdir(project, { recursive: true });
    agent = await FaultAgent.start(join(base, 'agent'));
  });
  afterAll(async () => {
    await agent.handle.close();
    await rm(base, { recursive: true, force: true });
  });

  it('sends each span in a message it ends, and the agent builds the file', async () => {
    const content = Buffer.alloc(FILE_BYTES);
    for (let i = 0; i + 4 <= content.length; i += 4) content.writeUInt32LE((i * 2654435761) >>> 0, i);
    writeFileSync(join(project, 'big.bin'), content);
    const connect = () => AgentClient.connect(agent.url, agent.token);
    expect((await runPush({ dir: project, connect, timeoutMs: PUSH_TIMEOUT_MS })).inSync).toBe(true);

    content.write('edited', Math.floor(FILE_BYTES / 2));
    writeFileSync(join(project, 'big.bin'), content);
    const messages: Frame[][] = [];
    const result = await runPush({
      dir: project,
      timeoutMs: PUSH_TIMEOUT_MS,
      connect: async () => {
        const client = await connect();
        const send = client.send.bind(client);
        client.send = (message, written, meanwhile) => {
          messages.push(decodeFrames(message));
          return send(message, written, meanwhile);
        };
        return client;
      },
    });
    expect([result.inSync, result.uploaded]).toEqual([true, 1]);
    const withSpans = messages.filter((frames) => frames.some((f) => f.kind === Kind.SPAN));
    // The runs before and after the edit: at least one span each, each ending its message.
    expect(withSpans.length).toBeGreaterThanOrEqual(2);
    for (const frames of withSpans) {
      expect(frames.filter((f) => f.kind === Kind.SPAN)).toHaveLength(1);
      expect(frames.at(-1)!.kind).toBe(Kind.SPAN);
    }
    expect(readFileSync(join(base, 'agent', 'big.bin')).equals(content)).toBe(true);
  });
});
