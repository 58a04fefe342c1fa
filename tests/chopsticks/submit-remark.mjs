#!/usr/bin/env node
// submit-remark.mjs: signs `System.remark` with the well-known dev key //Alice and submits it
// without waiting for a block, printing `SUBMITTED 0x<hash>`. The harness's own tests use it to
// prove that `Chopsticks::sent_since` sees a real signed extrinsic in the pool and in a block.
//
//   node submit-remark.mjs ws://127.0.0.1:PORT
//
// Exit status 0 once the node accepted the extrinsic, 1 on any error (printed on stderr).

import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';

const main = async () => {
  const url = process.argv[2];
  if (!url?.startsWith('ws://')) throw new Error('usage: submit-remark.mjs ws://HOST:PORT');
  await cryptoWaitReady();
  const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true });
  try {
    const alice = new Keyring({ type: 'sr25519' }).addFromUri('//Alice');
    const tx = await api.tx.system.remark('0x7265677365766572').signAsync(alice);
    const hash = await api.rpc.author.submitExtrinsic(tx);
    process.stdout.write(`SUBMITTED ${hash.toHex()}\n`);
  } finally {
    await api.disconnect();
  }
};

const timer = setTimeout(() => {
  process.stderr.write('submit-remark.mjs: no answer within 60 s\n');
  process.exit(1);
}, 60_000);
main()
  .then(() => {
    clearTimeout(timer);
    process.exit(0);
  })
  .catch((error) => {
    process.stderr.write(`submit-remark.mjs: ${error?.stack ?? error}\n`);
    process.exit(1);
  });
