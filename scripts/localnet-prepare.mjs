#!/usr/bin/env node
// localnet-prepare.mjs: scripts/localnet's second step. On a chopsticks chain that just started,
// opens SUBNET to proof-of-work registration at DIFFICULTY (pinned: no adjustment interval moves
// it) and funds the keys of the wallet at WALLET_DIR (its coldkey and every hotkey) so they pay
// the registration's fee, all with chopsticks' `dev_setStorage`. Prints one line per funded key.
//
//   node localnet-prepare.mjs URL SUBNET DIFFICULTY WALLET_DIR
//
// Exit status: 0 done, 1 the chain refused, 2 bad usage.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const FUND_RAO = '1000000000000'; // 1,000 TAO
const PER_BLOCK = 10;

const fail = (code, message) => {
  process.stderr.write(`localnet: ${message}\n`);
  process.exit(code);
};

const [url, subnetText, difficultyText, walletDir] = process.argv.slice(2);
const subnet = Number(subnetText);
const difficulty = Number(difficultyText);
if (!url || !walletDir) fail(2, 'usage: localnet-prepare.mjs URL SUBNET DIFFICULTY WALLET_DIR');
if (!Number.isInteger(subnet) || subnet < 1 || subnet > 65535) fail(2, `--subnet must be 1..65535 (0 is the root network), got ${subnetText}`);
if (!Number.isSafeInteger(difficulty) || difficulty < 1) fail(2, `--difficulty must be a whole number from 1 to 2^53, got ${difficultyText}`);

/** The account a keyfile names (accountId hex, else ss58Address, else a bare SS58 line), or null. */
const accountOf = (path) => {
  const text = readFileSync(path, 'utf8').trim();
  try {
    const json = JSON.parse(text);
    return json.accountId ?? json.ss58Address ?? null;
  } catch {
    return /^[1-9A-HJ-NP-Za-km-z]{40,60}$/.test(text) ? text : null;
  }
};

/** [name, account] for the wallet's coldkey and hotkeys that can be read without a password. */
const walletKeys = (dir) => {
  const keys = [];
  const coldkey = join(dir, 'coldkeypub.txt');
  if (existsSync(coldkey)) keys.push(['coldkey', accountOf(coldkey)]);
  const hotkeys = join(dir, 'hotkeys');
  if (existsSync(hotkeys)) {
    for (const name of readdirSync(hotkeys).sort()) keys.push([`hotkey ${name}`, accountOf(join(hotkeys, name))]);
  }
  return keys.filter(([, account]) => account);
};

const setStorage = async (storage) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'dev_setStorage', params: [storage] }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = await response.json();
  if (body.error) fail(1, `dev_setStorage refused: ${JSON.stringify(body.error)}`);
};

const main = async () => {
  await setStorage({
    SubtensorModule: {
      NetworkPowRegistrationAllowed: [[[subnet], true]],
      NetworkRegistrationAllowed: [[[subnet], true]],
      Difficulty: [[[subnet], difficulty]],
      MinDifficulty: [[[subnet], difficulty]],
      MaxDifficulty: [[[subnet], difficulty]],
      MaxRegistrationsPerBlock: [[[subnet], PER_BLOCK]],
      TargetRegistrationsPerInterval: [[[subnet], PER_BLOCK]],
    },
  });
  const keys = walletKeys(walletDir);
  if (keys.length === 0) {
    process.stdout.write(`localnet: no wallet at ${walletDir}: nothing funded (create it, then restart scripts/localnet)\n`);
    return;
  }
  const entries = keys.map(([, account]) => [[account], { providers: 1, data: { free: FUND_RAO } }]);
  await setStorage({ System: { Account: entries } });
  for (const [name, account] of keys) process.stdout.write(`localnet: funded ${name} ${account} with 1000 TAO\n`);
};

main().catch((error) => fail(1, error?.message ?? String(error)));
