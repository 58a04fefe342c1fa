#!/usr/bin/env node
// start.mjs: starts one of regsolver's two test runtimes (subtensor spec 218 or 293) under
// chopsticks on 127.0.0.1, with the two fixes spec 293 needs, and prints `READY ws://127.0.0.1:PORT`
// once the RPC answers.
//
//   node start.mjs --spec 218|293 --port P [--block-mode instant|manual|batch] [--db none|PATH]
//                  [--runtime-log-level 0-5] [--exit-on-stdin-close]
//
// Chopsticks runs in this process (not as a child), so the fixes below reach its own module state:
// 1. Aura slot duration: chopsticks asks the runtime for `AuraApi_slot_duration` WITHOUT allowing
//    unresolved imports; spec 293 imports BLS12-381 host functions chopsticks lacks, the call fails
//    silently and chopsticks assumes 12 s, so block #1 dies with "Timestamp slot must match
//    `CurrentSlot`". We run the call ourselves with `allowUnresolvedImports: true` and seed
//    chopsticks' memoized `getAuraSlotDuration` with the answer.
// 2. Genesis time: `Timestamp.Now` is unset at genesis, so chopsticks reads the wall clock twice for
//    block #1 and a slot boundary between the reads breaks it. We start from a copy of the genesis,
//    keys sorted (chopsticks relies on that), with `Timestamp.Now` and `Aura.CurrentSlot` set to the
//    last slot boundary.
// Both are applied to spec 218 too: harmless there, and the same race exists with its 3 s slot.
//
// `--db none` (the default) keeps the chain in memory. `--db PATH` needs sqlite3's native module,
// which the project's install skips (.npmrc: ignore-scripts); build it with
// `npm rebuild sqlite3 --ignore-scripts=false` first.
//
// Exit status: 0 on SIGTERM/SIGINT or when stdin closes under --exit-on-stdin-close (the harness
// passes it so chopsticks never outlives the test process), 1 on any startup error, 2 on bad usage.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';

import { getAuraSlotDuration, runTask, setupWithServer } from '@acala-network/chopsticks';
import { configSchema } from '@acala-network/chopsticks/schema/index';

const HERE = dirname(fileURLToPath(import.meta.url));
const CHAINSPECS = join(HERE, '..', 'data', 'chainspecs');
const SPECS = new Set(['218', '293']);
const BLOCK_MODES = { instant: 'Instant', manual: 'Manual', batch: 'Batch' };
const CODE_KEY = '0x3a636f6465'; // ":code"
// twox128("Timestamp") ++ twox128("Now") and twox128("Aura") ++ twox128("CurrentSlot").
const TIMESTAMP_NOW_KEY = '0xf0c365c3cf59d671eb72da0e7a4113c49f1f0515f462cdcf84e0f1d6045dfcbb';
const AURA_CURRENT_SLOT_KEY = '0x57f8dc2f5ab09467896f47300f04243806155b3cd9a8c9e5e9a23fd5dc13a5ed';
const READY_DEADLINE_MS = 60_000;

const fail = (code, message) => {
  process.stderr.write(`start.mjs: ${message}\n`);
  process.exit(code);
};

const parseOptions = () => {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        spec: { type: 'string' },
        port: { type: 'string' },
        'block-mode': { type: 'string', default: 'instant' },
        db: { type: 'string', default: 'none' },
        'runtime-log-level': { type: 'string', default: '0' },
        'exit-on-stdin-close': { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    fail(2, error.message);
  }
  if (!SPECS.has(values.spec)) fail(2, `--spec must be 218 or 293, got ${values.spec ?? 'nothing'}`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(2, `--port must be 1..65535, got ${values.port ?? 'nothing'}`);
  const blockMode = BLOCK_MODES[values['block-mode']];
  if (!blockMode) fail(2, `--block-mode must be instant, manual or batch, got ${values['block-mode']}`);
  const logLevel = Number(values['runtime-log-level']);
  if (!Number.isInteger(logLevel) || logLevel < 0 || logLevel > 5) fail(2, '--runtime-log-level must be 0..5');
  return {
    spec: values.spec,
    port,
    blockMode,
    db: values.db === 'none' ? undefined : values.db,
    runtimeLogLevel: logLevel,
    exitOnStdinClose: values['exit-on-stdin-close'],
  };
};

const u64le = (n) => {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(BigInt(n));
  return `0x${bytes.toString('hex')}`;
};

/** Fix 1: the slot duration as the runtime reports it, with unresolved imports allowed. */
const auraSlotDurationMs = async (code) => {
  const result = await runTask({
    wasm: code,
    calls: [['AuraApi_slot_duration', []]],
    mockSignatureHost: false,
    allowUnresolvedImports: true,
    runtimeLogLevel: 0,
  });
  if ('Error' in result) throw new Error(`AuraApi_slot_duration failed: ${result.Error}`);
  const slotMs = Number(Buffer.from(result.Call.result.slice(2), 'hex').readBigUInt64LE(0));
  if (!(slotMs > 0)) throw new Error(`AuraApi_slot_duration returned ${slotMs}`);
  return slotMs;
};

/** Fix 2: a sorted genesis copy whose clock and Aura slot sit on the last slot boundary. */
const alignedGenesis = (chainSpec, slotMs) => {
  const slot = Math.floor(Date.now() / slotMs);
  const top = {
    ...chainSpec.genesis.raw.top,
    [TIMESTAMP_NOW_KEY]: u64le(slot * slotMs),
    [AURA_CURRENT_SLOT_KEY]: u64le(slot),
  };
  const sorted = Object.fromEntries(Object.keys(top).sort().map((key) => [key, top[key]]));
  return { ...chainSpec, genesis: { ...chainSpec.genesis, raw: { ...chainSpec.genesis.raw, top: sorted } } };
};

/** Resolves once the RPC answers a real request on the port (HTTP JSON-RPC, same server as ws). */
const waitForRpc = async (port) => {
  const deadline = Date.now() + READY_DEADLINE_MS;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'chain_getHeader', params: [] }),
        signal: AbortSignal.timeout(5_000),
      });
      const body = await response.json();
      if (body.result?.number !== undefined) return;
      lastError = new Error(`unexpected answer ${JSON.stringify(body)}`);
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`RPC on port ${port} did not answer within ${READY_DEADLINE_MS} ms: ${lastError?.message}`);
};

const main = async () => {
  const options = parseOptions();
  const startedMs = Date.now();
  const specPath = join(CHAINSPECS, `subtensor-spec${options.spec}.raw.json.gz`);
  const chainSpec = JSON.parse(gunzipSync(readFileSync(specPath)).toString('utf8'));
  const code = chainSpec.genesis?.raw?.top?.[CODE_KEY];
  if (!code) throw new Error(`${specPath} has no :code in genesis.raw.top`);

  const slotMs = await auraSlotDurationMs(code);
  const slotAskedMs = Date.now() - startedMs;
  // chopsticks memoizes by the code's hex, exactly what it will read from the genesis block.
  getAuraSlotDuration.cache.set(code, Promise.resolve(slotMs));

  const config = configSchema.parse({
    host: '127.0.0.1',
    port: options.port,
    genesis: alignedGenesis(chainSpec, slotMs),
    'build-block-mode': options.blockMode,
    'allow-unresolved-imports': true,
    'runtime-log-level': options.runtimeLogLevel,
    ...(options.db ? { db: options.db } : {}),
  });
  const { close } = await setupWithServer(config);
  await waitForRpc(options.port);

  const shutdown = () => {
    close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  if (options.exitOnStdinClose) {
    process.stdin.on('end', shutdown);
    process.stdin.on('error', shutdown);
    process.stdin.resume();
  }
  process.stdout.write(
    `start.mjs: spec ${options.spec}, Aura slot ${slotMs} ms (runtime asked after ${slotAskedMs} ms), ` +
      `block mode ${options.blockMode}, RPC ready after ${Date.now() - startedMs} ms\n`,
  );
  process.stdout.write(`READY ws://127.0.0.1:${options.port}\n`);
};

main().catch((error) => fail(1, error?.stack ?? String(error)));
