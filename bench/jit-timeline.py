#!/usr/bin/env python3
"""bench/jit-timeline.py SERVER_LOG [BUCKET_MS] [AFTER_MS]: summarises -XX:+PrintCompilation output (e.g. the KMS's
server.log from KMS_SERVER_OPTS=-XX:+PrintCompilation bench/kms-load.sh ...): compilations per time bucket (C1 and C2
apart), the methods compiled most often and those most often made not entrant (deoptimisation loops show up there).
With AFTER_MS (milliseconds since JVM start, e.g. when the load began + 90 s): what was still compiled after it, by
tier and by package, and the deoptimisations after it (a deopt storm repeats the same methods; a late warm-up shows
many different methods compiled once, at tier 4, that are called a few times per request)."""
import sys, re, collections
lines = open(sys.argv[1], errors='replace').read().splitlines()
pat = re.compile(r'^\s*(\d+)\s+(\d+)\s+([%sbn!\s]{5})\s*(\d)?\s+(\S+)(.*)$')
buckets = collections.Counter(); nonentrant = collections.Counter(); compiled = collections.Counter(); tiers=collections.Counter()
bucket = int(sys.argv[2]) if len(sys.argv)>2 else 10000
after = int(sys.argv[3]) if len(sys.argv)>3 else None
late = collections.Counter(); late_tiers = collections.Counter(); late_pkgs = collections.Counter(); late_deopt = collections.Counter()
late_bytes = collections.Counter()
for l in lines:
    m = pat.match(l)
    if not m: continue
    t, cid, attrs, tier, meth, rest = m.groups()
    t=int(t)
    if 'made not entrant' in rest:
        nonentrant[meth]+=1
        if after is not None and t >= after: late_deopt[meth]+=1
        continue
    if 'made zombie' in rest: continue
    buckets[t//bucket]+=1; compiled[meth]+=1; tiers[(t//bucket, tier)]+=1
    if after is not None and t >= after:
        late[meth]+=1; late_tiers[tier]+=1
        pkg = '.'.join(meth.split('::')[0].split('.')[:3])
        late_pkgs[pkg]+=1
        mb = re.search(r'\((\d+) bytes\)', rest)
        if mb: late_bytes[tier]+=int(mb.group(1))
print('compilations per', bucket//1000, 's bucket (t from JVM start):')
for b in sorted(buckets): print(f'  {b*bucket//1000:5d}s {buckets[b]:6d}  C2(tier4)={tiers[(b,"4")]}  C1={sum(tiers[(b,x)] for x in "123")}')
print('methods compiled most often:'); [print(f'  {c:4d} {m}') for m,c in compiled.most_common(25)]
print('made not entrant most often:'); [print(f'  {c:4d} {m}') for m,c in nonentrant.most_common(25)]
if after is not None:
    n = sum(late.values()); distinct = len(late)
    print(f'after {after} ms: {n} compilations of {distinct} distinct methods; by tier: '
          + ', '.join(f'tier {k}: {v} ({late_bytes[k]} bytecode bytes)' for k,v in sorted(late_tiers.items(), key=lambda kv: str(kv[0]))))
    print(f'  deoptimisations (made not entrant) after it: {sum(late_deopt.values())} of {len(late_deopt)} distinct methods; '
          f'methods compiled 3+ times after it: {sum(1 for c in late.values() if c >= 3)}')
    print('  by package:'); [print(f'    {c:4d} {p}') for p,c in late_pkgs.most_common(20)]
    print('  made not entrant after it, most often:'); [print(f'    {c:4d} {m}') for m,c in late_deopt.most_common(15)]
