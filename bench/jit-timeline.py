#!/usr/bin/env python3
"""bench/jit-timeline.py SERVER_LOG [BUCKET_MS]: summarises -XX:+PrintCompilation output (e.g. the KMS's server.log from
KMS_SERVER_OPTS=-XX:+PrintCompilation bench/kms-load.sh ...): compilations per time bucket (C1 and C2 apart), the
methods compiled most often and those most often made not entrant (deoptimisation loops show up there)."""
import sys, re, collections
lines = open(sys.argv[1], errors='replace').read().splitlines()
pat = re.compile(r'^\s*(\d+)\s+(\d+)\s+([%sbn!\s]{5})\s*(\d)?\s+(\S+)(.*)$')
buckets = collections.Counter(); nonentrant = collections.Counter(); compiled = collections.Counter(); tiers=collections.Counter()
bucket = int(sys.argv[2]) if len(sys.argv)>2 else 10000
for l in lines:
    m = pat.match(l)
    if not m: continue
    t, cid, attrs, tier, meth, rest = m.groups()
    t=int(t)
    if 'made not entrant' in rest:
        nonentrant[meth]+=1
        continue
    if 'made zombie' in rest: continue
    buckets[t//bucket]+=1; compiled[meth]+=1; tiers[(t//bucket, tier)]+=1
print('compilations per', bucket//1000, 's bucket (t from JVM start):')
for b in sorted(buckets): print(f'  {b*bucket//1000:5d}s {buckets[b]:6d}  C2(tier4)={tiers[(b,"4")]}  C1={sum(tiers[(b,x)] for x in "123")}')
print('methods compiled most often:'); [print(f'  {c:4d} {m}') for m,c in compiled.most_common(25)]
print('made not entrant most often:'); [print(f'  {c:4d} {m}') for m,c in nonentrant.most_common(25)]
