#!/usr/bin/env python3
"""The share tables of a job, the PyTorch way: one index_add_ pass over the events per table.

Same workload as ecostat_gpu_bench's share_tables_set (gpu_bench.cu): 2^30 events, 2^21 models
drawn with P(key < x) = (x/M)^(1/4) (scrambled), counts 1..64, months 0..47; organisations
(100,000, skewed), countries (200) and organisation types (6) by organisation, families
(300,000). Tables: model, model x month, organisation x month, country x month, org type x
month, family x month, int64 sums. Each table's time includes building its index (gather +
multiply-add), as a user writes it. Prints one JSON object per line (per table, then the total
as what = "torch_six_tables"). Usage: torch_share_tables.py [n_events]"""
import json
import sys

import torch

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 30
M = 1 << 21
N_ORG, N_COUNTRY, N_TYPE, N_FAMILY = 100000, 200, 6, 300000
dev = "cuda"


def med_ms(f, reps=5):
    f()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        f()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b))
    ts.sort()
    return ts[len(ts) // 2]


def out(**k):
    print(json.dumps(k), flush=True)


g = torch.Generator(device=dev).manual_seed(1)
u = torch.rand(n, device=dev, generator=g)
key = ((u ** 4) * M).clamp_(max=M - 1).to(torch.int64)
del u
key = (key * 2654435761) & (M - 1)
cnt = torch.randint(1, 65, (n,), device=dev, generator=g, dtype=torch.int64)
month = torch.randint(0, 48, (n,), device=dev, generator=g, dtype=torch.int64)
r = torch.rand(M, device=dev, generator=g, dtype=torch.float64)
org = ((r * r) * N_ORG).to(torch.int64).clamp_(max=N_ORG - 1)
country = torch.randint(0, N_COUNTRY, (N_ORG,), device=dev, generator=g)[org]
otype = torch.randint(0, N_TYPE, (N_ORG,), device=dev, generator=g)[org]
family = torch.randint(0, N_FAMILY, (M,), device=dev, generator=g)
out(peer="torch", version=torch.__version__, device=torch.cuda.get_device_name(), events=n)

tables = {}


def by_model():
    return torch.zeros(M, dtype=torch.int64, device=dev).index_add_(0, key, cnt)


def by_model_month():
    idx = key * 48
    idx += month
    return torch.zeros(M * 48, dtype=torch.int64, device=dev).index_add_(0, idx, cnt)


def by_group_month(gmap, G):
    def f():
        idx = gmap[key]
        idx *= 48
        idx += month
        return torch.zeros(G * 48, dtype=torch.int64, device=dev).index_add_(0, idx, cnt)
    return f


cases = [("model", by_model), ("model_x_month", by_model_month),
         ("organisation_x_month", by_group_month(org, N_ORG)), ("country_x_month", by_group_month(country, N_COUNTRY)),
         ("org_type_x_month", by_group_month(otype, N_TYPE)), ("family_x_month", by_group_month(family, N_FAMILY))]
total = 0.0
for name, f in cases:
    ms = med_ms(f)
    total += ms
    out(peer="torch", what="torch_table_" + name, events=n, ms=round(ms, 3), Gev_s=round(n / ms / 1e6, 3))
    torch.cuda.empty_cache()
out(peer="torch", what="torch_six_tables", events=n, tables=6, ms=round(total, 3), Gev_s=round(n / total / 1e6, 3),
    note="one index_add_ pass per table, sum of the six medians")
