// The lab's claims processor (src/consumers/claims-processor.js), written
// the plain way the lab has a student write it with node-redis: per
// claim.submitted event read the policy, write the read model, append
// the assignment, ack, one await each. Its own claim.assigned events come
// back through the group and are acked, as claimsctl's processor reads
// its decisions: 2n events for n claims.
//
// usage: node processor.mjs [redisUrl] [n]
// fills claims:events with n claims on 100 policies (not timed), then
// drains it; prints RESULT node_processor events=<2n> secs=<s> eps=<events/s>
import { createClient } from 'redis';
import { v4 as uuidv4 } from 'uuid';

const [, , url = 'redis://127.0.0.1:6379', nArg = '20000'] = process.argv;
const N = Number(nArg);
const STREAM = 'claims:events';
const GROUP = 'processors';
const CONSUMER = 'processor-1';
const ADJUSTERS = ['ADJ-001', 'ADJ-002', 'ADJ-003'];

const client = createClient({ url });
client.on('error', (e) => console.error('redis error', e.message));
await client.connect();

async function setup() {
  await client.del(STREAM);
  for (let p = 0; p < 100; p++) {
    await client.hSet(`policy:POL-${100000 + p}`, {
      policy_number: `POL-${100000 + p}`, status: 'active', coverage: 'auto', limit: '50000',
    });
  }
  for (let i = 0; i < N; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(i + 100, N); j++) {
      const claim = {
        claim_id: uuidv4(), policy_number: `POL-${100000 + (j % 100)}`, claimant: 'Jane Doe',
        amount: 1200 + (j % 500), currency: 'EUR', incident_date: '2024-05-01',
        description: 'Rear-end collision, bumper and tail light damage', status: 'submitted',
      };
      batch.push(client.xAdd(STREAM, '*', {
        type: 'claim.submitted', claim_id: claim.claim_id, data: JSON.stringify(claim), timestamp: new Date().toISOString(),
      }));
    }
    await Promise.all(batch);
  }
  await client.xGroupCreate(STREAM, GROUP, '0');
}

async function processor() {
  const t0 = process.hrtime.bigint();
  const deadline = Date.now() + 300000;
  let consumed = 0;
  let assigned = 0;
  while (consumed < 2 * N) {
    if (Date.now() > deadline) throw new Error(`timeout after ${consumed} messages`);
    const res = await client.xReadGroup(GROUP, CONSUMER, { key: STREAM, id: '>' }, { COUNT: 100, BLOCK: 1000 });
    if (!res) continue;
    for (const stream of res) {
      for (const msg of stream.messages) {
        const event = msg.message;
        if (event.type === 'claim.submitted') {
          const claim = JSON.parse(event.data);
          const policy = await client.hGetAll(`policy:${claim.policy_number}`);
          if (policy.status !== 'active' || claim.amount > Number(policy.limit)) throw new Error('bad claim');
          const adjuster = ADJUSTERS[assigned++ % ADJUSTERS.length];
          await client.hSet(`claim:${claim.claim_id}`, {
            claim_id: claim.claim_id, policy_number: claim.policy_number, amount: String(claim.amount),
            status: 'assigned', adjuster, updated_at: new Date().toISOString(),
          });
          await client.xAdd(STREAM, '*', {
            type: 'claim.assigned', claim_id: claim.claim_id,
            data: JSON.stringify({ claim_id: claim.claim_id, adjuster }), timestamp: new Date().toISOString(),
          });
        }
        await client.xAck(STREAM, GROUP, msg.id);
        consumed++;
      }
    }
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`RESULT node_processor events=${consumed} secs=${secs.toFixed(3)} eps=${(consumed / secs).toFixed(0)}`);
}

try {
  await setup();
  await processor();
} finally {
  const keys = await client.keys('claim:*');
  for (let i = 0; i < keys.length; i += 1000) await client.del(keys.slice(i, i + 1000));
  await client.del(STREAM);
  await client.quit();
}
