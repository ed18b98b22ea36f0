#!/usr/bin/env python3
"""Writes docs/performance.md from the results directory of one bench/run.

Every figure in the document comes from the files bench/run wrote in this
run; the prose around them is fixed, and says which way a comparison went
from the numbers themselves.

    bench/report.py RESULTS_DIR OUT.md
"""

import datetime
import json
import os
import sys


def kv(path):
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            line = line.strip()
            if "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
    return out


def num(d, k, default=0.0):
    try:
        return float(d.get(k, default))
    except ValueError:
        return default


def fmt(x, digits=3):
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def main():
    res, out_path = sys.argv[1], sys.argv[2]
    env = kv(os.path.join(res, "env.txt"))
    fsync = kv(os.path.join(res, "fsync.txt"))
    fill = kv(os.path.join(res, "fill.txt"))
    replay = kv(os.path.join(res, "replay.txt"))
    reads = kv(os.path.join(res, "reads.txt"))
    e2e = kv(os.path.join(res, "e2e.txt"))
    store = kv(os.path.join(res, "store.txt"))
    sealed = kv(os.path.join(res, "store_sealed.txt"))
    replay_plain = kv(os.path.join(res, "replay_plain.txt"))
    replay_sealed = kv(os.path.join(res, "replay_sealed.txt"))

    # --- 1. replay reference: ConsumerPerformance per topic -------------------
    ref_msgs, ref_secs, ref_elapsed, ref_mb, ref_rows = 0, 0.0, 0.0, 0.0, []
    with open(os.path.join(res, "consumer_perf.txt")) as f:
        for line in f:
            topic, count, rest = line.split(" ", 2)
            cols = [c.strip() for c in rest.split(",")]
            start = datetime.datetime.strptime(cols[0], "%Y-%m-%d %H:%M:%S:%f")
            end = datetime.datetime.strptime(cols[1], "%Y-%m-%d %H:%M:%S:%f")
            elapsed = (end - start).total_seconds()
            msgs = int(cols[4])
            mb = float(cols[2])
            # fetch.time.ms: reading only, without the consumer group's join
            # (rebalance.time.ms), which a projector that assigns its
            # partitions never pays. The stricter reference of the two.
            fetch = float(cols[7]) / 1000.0
            ref_msgs += msgs
            ref_secs += fetch
            ref_elapsed += elapsed
            ref_mb += mb
            ref_rows.append((topic, msgs, mb, fetch, elapsed))
    ref_rate = ref_msgs / ref_secs if ref_secs else 0
    ref_rate_elapsed = ref_msgs / ref_elapsed if ref_elapsed else 0
    replay_rate = num(replay, "replay_events_per_second")
    replay_ratio = replay_rate / ref_rate if ref_rate else 0

    # --- 2. command path ------------------------------------------------------
    def ghz(name):
        p = os.path.join(res, f"ghz_{name}.json")
        if not os.path.exists(p):
            return None
        with open(p) as f:
            j = json.load(f)
        lat = {int(d["percentage"]): d["latency"] / 1e6 for d in j.get("latencyDistribution") or []}
        codes = j.get("statusCodeDistribution") or {}
        return {
            "rps": j.get("rps", 0.0),
            "count": j.get("count", 0),
            "avg_ms": j.get("average", 0) / 1e6,
            "p50_ms": lat.get(50, 0.0),
            "p99_ms": lat.get(99, 0.0),
            "ok": codes.get("OK", 0),
            "errors": sum(v for k, v in codes.items() if k != "OK"),
            "error_dist": j.get("errorDistribution") or {},
        }

    cmd = {}
    for mode in ("embedded", "kafka"):
        h, r = ghz(f"{mode}_health"), ghz(f"{mode}_register")
        if h and r:
            cmd[mode] = (h, r, r["rps"] / h["rps"] if h["rps"] else 0)

    # --- 3. end-to-end reference ------------------------------------------------
    k_avg = k50 = k99 = k999 = 0.0
    with open(os.path.join(res, "kafka_e2e.txt")) as f:
        for line in f:
            if line.startswith("Avg latency:"):
                k_avg = float(line.split(":")[1].split()[0])
            if line.startswith("Percentiles:"):
                parts = dict(p.strip().split(" = ") for p in line.split(":", 1)[1].split(","))
                k50, k99, k999 = (float(parts["50th"]), float(parts["99th"]),
                                  float(parts["99.9th"]))
    e2e_p99 = num(e2e, "e2e_ack_to_received_p99_ms")
    e2e_send_p99 = num(e2e, "e2e_send_to_received_p99_ms")
    e2e_budget = 2 * k99 + 2

    # --- 4. reads -----------------------------------------------------------------
    read_rows = [
        ("GetTimeline, first page (50 entries)", "timeline_page50"),
        ("GetTimeline, 500 entries", "timeline_page500"),
        ("GetCustomerContext, same customers", "context_heavy"),
        ("GetCustomerContext, 2,000 other customers, once each", "context_ordinary"),
    ]
    read_p99_max = max(num(reads, f"reads_{k}_p99_us") for _, k in read_rows) / 1000

    # --- 5. storage -----------------------------------------------------------------
    entries = num(replay, "replay_entries", 1) or 1
    journey_bytes = num(replay, "journey_store_bytes")
    journey_compacted = num(reads, "journey_store_compacted_bytes")
    mean_value = num(fill, "fill_mean_value_bytes")

    def met(ok):
        return "**met**" if ok else "**missed**"

    L = []
    w = L.append
    w("# Performance")
    w("")
    w("Measured against Kafka itself: every figure below is a ratio against a")
    w("reference measured in the same run, on the same machine, against the same")
    w("broker, together with the absolute numbers. This page is generated by")
    w("`bench/run` (see [Reproducing](#reproducing)); do not edit it by hand.")
    w("")
    w(f"Run: {env.get('date', '?')}, commit `{env.get('git', '?')}`, "
      f"{env.get('cores', '?')} cores ({env.get('cpu', '?')}), "
      f"{env.get('memory_gib', '?')} GiB RAM, kernel {env.get('kernel', '?')}, "
      f"disk `{env.get('disk', '?')}` (fdatasync p50 {fsync.get('fsync_p50_ms', '?')} ms, "
      f"p99 {fsync.get('fsync_p99_ms', '?')} ms). Build: Release (`-O2`). "
      f"Kafka 4.1.1, one KRaft node on the same machine, 512 MiB heap.")
    w("")
    loads = {k[5:]: v for k, v in env.items() if k.startswith("load_")}
    w("1-minute load average when each part started (other work shares this "
      "machine; a load above the core count means the figures are pessimistic): " +
      ", ".join(f"{k} {v}" for k, v in loads.items()) + ".")
    if env.get("quick") == "1":
        w("")
        w("**This is a `--quick` run with reduced sizes, not the reference run.**")
    w("")
    w("## Summary")
    w("")
    w("| What | Threadline | Reference (same run) | Ratio | Target | |")
    w("|---|---|---|---|---|---|")
    w(f"| 1. Projection replay | {fmt(replay_rate)} events/s | ConsumerPerformance "
      f"{fmt(ref_rate)} msg/s | {replay_ratio:.3f} | ≥ 0.5 | {met(replay_ratio >= 0.5)} |")
    for mode, (h, r, ratio) in cmd.items():
        w(f"| 2. Commands, {mode} bus | RegisterCustomer {fmt(r['rps'])}/s | "
          f"Health/Check {fmt(h['rps'])}/s | {ratio:.3f} | ≥ 0.5 | {met(ratio >= 0.5)} |")
    w(f"| 3. End-to-end p99 (accepted → subscriber) | {e2e_p99:.2f} ms | EndToEndLatency "
      f"p99 {k99:g} ms | {e2e_p99 / k99 if k99 else 0:.2f}× | ≤ 2×p99 + 2 ms = "
      f"{e2e_budget:g} ms | {met(e2e_p99 <= e2e_budget)} |")
    w(f"| 4. Reads p99 (worst of timeline/card) | {read_p99_max:.3f} ms | — | — | < 1 ms | "
      f"{met(read_p99_max < 1)} |")
    w(f"| 5. Storage | sales store {fmt(num(store, 'store_compacted_bytes_per_event'))} B/event, "
      f"journey {fmt(journey_compacted / entries)} B/event, projector RSS "
      f"{num(replay, 'replay_max_rss_bytes') / 2**20:.0f} MiB | envelope "
      f"{fmt(mean_value)} B on the topic | — | — | |")
    w("")

    # ---- 1 ----
    w("## 1. Projection replay")
    w("")
    w(f"`bench_fill` publishes {int(num(fill, 'fill_events')):,} events of "
      f"{int(num(fill, 'fill_customers')):,} customers to the four department topics "
      "(6 partitions each, key `customer_id`, lz4, through `outbox::ToMessage`, the relay's own "
      "message format), in `occurred_at` order as the departments would have published them "
      "live over a year. 10 customers have 1,000 events each (the read benchmark's "
      "customers); the others tell the broadband story in ~10 events: registration, order "
      "with a commitment, work order, held charge, appointment proposed and confirmed, "
      "contact, technician, installation completed, charge activated, invoice, ticket, "
      "interaction, resolution, payment, missed call, product switch. "
      f"Mean envelope: {fmt(mean_value)} bytes.")
    w("")
    w("The events go to **all four topics**, each to its department's, because that is what "
      "the projector really reads: one consumer over 24 partitions, where a customer's events "
      "from different departments arrive in a different order than they happened, so the "
      "card is re-folded (`refolds` below). One topic would have hidden that cost. The "
      "reference reads exactly the same messages: Kafka's `ConsumerPerformance` once per "
      "topic, one after the other (it takes one topic), and the rate is all messages over "
      "the sum of the four runs' fetch times (`fetch.time.ms`: reading, without the "
      "consumer group's join, which the projector does not do; with the join, "
      f"{fmt(ref_rate_elapsed)} msg/s).")
    w("")
    w("| Topic | Messages | MB | Fetch seconds | Elapsed seconds (with group join) |")
    w("|---|---|---|---|---|")
    for topic, msgs, mb, fetch, elapsed in ref_rows:
        w(f"| {topic} | {msgs:,} | {mb:.1f} | {fetch:.2f} | {elapsed:.2f} |")
    w(f"| **all** | **{ref_msgs:,}** | **{ref_mb:.1f}** | **{ref_secs:.2f}** | "
      f"{ref_elapsed:.2f} |")
    w("")
    w("| Projector rebuild (`bench_replay`, what `threadline journey rebuild` runs) | |")
    w("|---|---|")
    w(f"| messages consumed | {int(num(replay, 'replay_messages')):,} |")
    w(f"| timeline entries written | {int(num(replay, 'replay_entries')):,} |")
    w(f"| cards re-folded for late events | {int(num(replay, 'replay_refolds')):,} |")
    w(f"| seconds | {num(replay, 'replay_seconds'):.1f} |")
    w(f"| **events/s** | **{fmt(replay_rate)}** |")
    w(f"| reference msg/s | {fmt(ref_rate)} |")
    w(f"| ratio | {replay_ratio:.3f} (target ≥ 0.5: {met(replay_ratio >= 0.5)}) |")
    w(f"| peak RSS of the process | {num(replay, 'replay_max_rss_bytes') / 2**20:.0f} MiB |")
    w("")
    w("@@REPLAY_ANALYSIS@@")
    w("")
    plain_replay_rate = num(replay_plain, "replay_events_per_second", 0)
    sealed_replay_rate = num(replay_sealed, "replay_events_per_second", 0)
    if plain_replay_rate and sealed_replay_rate:
        seal_ratio = sealed_replay_rate / plain_replay_rate
        w("### Sealing on the replay")
        w("")
        w(f"The same history of {int(num(replay_plain, 'replay_messages')):,} events twice on "
          f"the embedded bus: as written before sealing, and with every personal field sealed "
          f"under its customer's key (`bench_fill --vault`), replayed with the keys "
          f"(`bench_replay --vault`: each field opened, the journey's own cards, entries and "
          f"blinded search entries sealed). {fmt(sealed_replay_rate)} events/s sealed against "
          f"{fmt(plain_replay_rate)} events/s unsealed, ratio **{seal_ratio:.3f}**; "
          f"{int(num(replay_sealed, 'replay_dead_lettered', 0)):,} parked.")
        w("")

    # ---- 2 ----
    w("## 2. Command path")
    w("")
    w("`threadline serve --target=sales,privacy` (sales with its key vault, so every command "
      "seals its personal fields); [ghz](https://ghz.sh) with 64 concurrent "
      "requests over 4 connections (60,000 calls; 200,000 for the cheaper health check) against "
      "`SalesService.RegisterCustomer` (a fresh `request_id` and e-mail per request through "
      "ghz's `newUUID` template function) and against `grpc.health.v1.Health/Check` on the "
      "same server. Every RegisterCustomer is a durable append (fsync, shared by the "
      "concurrent commands of a group commit) and is published by the outbox relay: to the "
      "embedded bus (which fsyncs before its delivery report) or to Kafka (`acks=all`, "
      "idempotent producer).")
    w("")
    w("| Bus | Call | Requests/s | OK | Errors | mean ms | p50 ms | p99 ms |")
    w("|---|---|---|---|---|---|---|---|")
    for mode, (h, r, ratio) in cmd.items():
        for name, g in (("Health/Check", h), ("RegisterCustomer", r)):
            w(f"| {mode} | {name} | {fmt(g['rps'])} | {g['ok']:,} | {g['errors']:,} | "
              f"{g['avg_ms']:.2f} | {g['p50_ms']:.2f} | {g['p99_ms']:.2f} |")
        w(f"| {mode} | **ratio** | **{ratio:.3f}** | | | | | |")
    w("")
    for mode, (h, r, ratio) in cmd.items():
        for name, g in (("health", h), ("register", r)):
            if g["error_dist"]:
                w(f"Errors ({mode}, {name}): `{json.dumps(g['error_dist'])[:300]}`")
                w("")
    w("@@COMMAND_ANALYSIS@@")
    w("")

    # ---- 3 ----
    w("## 3. End-to-end latency")
    w("")
    w(f"Sales and journey as two `threadline serve --kafka-brokers` processes. `bench_e2e` "
      f"subscribes to `SubscribeJourney` (every customer) on the journey process and sends "
      f"`RegisterCustomer` to the sales process at a fixed {e2e.get('e2e_achieved_rate', '?')}"
      f" commands/s (open loop: a schedule, not back-to-back) for the configured time; each "
      f"update is matched to its command by customer id. Reference: Kafka's "
      f"`EndToEndLatency` on the same broker (`acks=all`, 400-byte records, its own "
      f"`linger.ms=0` and `fetch.max.wait.ms=0`), which sends one record, waits for the "
      f"ack, polls until it has it, then sends the next; it prints whole milliseconds.")
    w("")
    w("| | p50 ms | p99 ms | p99.9 ms | max ms |")
    w("|---|---|---|---|---|")
    for label, key in (("accepted → subscriber received", "ack_to_received"),
                       ("sent → subscriber received", "send_to_received"),
                       ("sent → accepted (the command)", "send_to_ack")):
        w(f"| {label} | {num(e2e, f'e2e_{key}_p50_ms'):.2f} | {num(e2e, f'e2e_{key}_p99_ms'):.2f}"
          f" | {num(e2e, f'e2e_{key}_p999_ms'):.2f} | {num(e2e, f'e2e_{key}_max_ms'):.2f} |")
    w(f"| Kafka EndToEndLatency (produce → consumed) | {k50:g} | {k99:g} | {k999:g} | "
      f"(avg {k_avg:.2f}) |")
    w("")
    w(f"Commands: {int(num(e2e, 'e2e_commands')):,}, errors {e2e.get('e2e_errors', '?')}, "
      f"updates not received {e2e.get('e2e_not_received', '?')}, sends that started late "
      f"{e2e.get('e2e_late_starts', '?')}.")
    w("")
    w(f"Target: p99 ≤ 2 × {k99:g} + 2 = {e2e_budget:g} ms. Accepted → received p99 "
      f"{e2e_p99:.2f} ms: {met(e2e_p99 <= e2e_budget)}; sent → received p99 "
      f"{e2e_send_p99:.2f} ms: {met(e2e_send_p99 <= e2e_budget)}.")
    w("")
    w("@@E2E_ANALYSIS@@")
    w("")

    # ---- 4 ----
    w("## 4. Timeline and context-card reads")
    w("")
    w(f"`bench_reads` opens the replay's store ({int(entries):,} entries) in process and "
      f"calls `Projector::GetTimeline` / `GetCustomerContext` round-robin over the 10 "
      f"customers with {reads.get('reads_heavy_entries_per_customer', '?')} events each "
      f"(after paging through each whole timeline once, as a warm server would have), then "
      f"reads the card of 2,000 other customers once each. Server-side time: no gRPC.")
    w("")
    w("| Query | Samples | p50 µs | p99 µs | p99.9 µs | max µs |")
    w("|---|---|---|---|---|---|")
    for label, k in read_rows:
        w(f"| {label} | {int(num(reads, f'reads_{k}_samples')):,} | "
          f"{num(reads, f'reads_{k}_p50_us'):.0f} | {num(reads, f'reads_{k}_p99_us'):.0f} | "
          f"{num(reads, f'reads_{k}_p999_us'):.0f} | {num(reads, f'reads_{k}_max_us'):.0f} |")
    w("")
    w(f"Target p99 < 1 ms: {met(read_p99_max < 1)} (worst p99 {read_p99_max:.3f} ms).")
    w("")

    # ---- 5 ----
    w("## 5. Storage")
    w("")
    w("| Store | Events | Bytes as written | per event | Bytes compacted | per event |")
    w("|---|---|---|---|---|---|")
    se = num(store, "store_events", 1) or 1
    w(f"| sales event store (`bench_store`: {int(se):,} events through `SalesService`) | "
      f"{int(se):,} | {int(num(store, 'store_bytes')):,} | "
      f"{fmt(num(store, 'store_bytes_per_event'))} | {int(num(store, 'store_compacted_bytes')):,}"
      f" | {fmt(num(store, 'store_compacted_bytes_per_event'))} |")
    w(f"| journey store (the replay's) | {int(entries):,} | {int(journey_bytes):,} | "
      f"{fmt(journey_bytes / entries)} | {int(journey_compacted):,} | "
      f"{fmt(journey_compacted / entries)} |")
    w("")
    w(f"For scale: the envelope itself is {fmt(mean_value)} bytes (protobuf, the value on the "
      f"topic). \"As written\" is the directory right after the run (write-ahead log and "
      f"level-0 files included); \"compacted\" after a flush and a full compaction with the "
      f"store's own options, the steady state. Projector peak RSS while replaying "
      f"{int(num(replay, 'replay_messages')):,} events: "
      f"{num(replay, 'replay_max_rss_bytes') / 2**20:.0f} MiB (getrusage `ru_maxrss`).")
    w("")
    w("@@STORAGE_ANALYSIS@@")
    w("")
    plain_rate = se / (num(store, "store_fill_seconds", 1) or 1)
    sealed_events = num(sealed, "store_events", 0)
    if sealed_events:
        sealed_rate = sealed_events / (num(sealed, "store_fill_seconds", 1) or 1)
        w("### Sealing personal data")
        w("")
        w(f"The same {int(se):,} commands through `SalesService` with personal fields sealed "
          f"(AES-256-GCM per field under the customer's key from the vault, blinded claims): "
          f"{sealed_rate:,.0f} events/s against {plain_rate:,.0f} events/s unsealed, ratio "
          f"**{sealed_rate / plain_rate:.3f}** (target ≥ 0.9: {met(sealed_rate / plain_rate >= 0.9)}). "
          f"Bytes per event compacted: {fmt(num(sealed, 'store_compacted_bytes_per_event'))} sealed, "
          f"{fmt(num(store, 'store_compacted_bytes_per_event'))} unsealed.")
        w("")

    paranoid_on = kv(os.path.join(res, "store_paranoid_true.txt"))
    paranoid_off = kv(os.path.join(res, "store_paranoid_false.txt"))
    on_events = num(paranoid_on, "store_events", 0)
    off_events = num(paranoid_off, "store_events", 0)
    if on_events and off_events:
        on_rate = on_events / (num(paranoid_on, "store_fill_seconds", 1) or 1)
        off_rate = off_events / (num(paranoid_off, "store_fill_seconds", 1) or 1)
        w("### Paranoid checks")
        w("")
        w(f"The same {int(on_events):,} events through `SalesService`, with 4 MiB memtables so "
          f"that the run flushes and compacts many times, with RocksDB's `paranoid_file_checks` "
          f"(every table file read back after it is written; the event store's default) and "
          f"without: {on_rate:,.0f} events/s against {off_rate:,.0f} events/s, ratio "
          f"**{on_rate / off_rate:.3f}**. Every store also keeps RocksDB's `paranoid_checks` "
          f"(writes stop at the first corruption a background job meets), which costs "
          f"nothing on the write path.")
        w("")

    # ---- profiles ----
    w("## Profiles")
    w("")
    w("`perf stat -e instructions` reports `<not supported>` on this machine (no hardware "
      "counters in the VM), so profiles are valgrind's callgrind: instruction counts, "
      "not time, and blind to waiting (fsync, network). `bench/run` takes them on a short "
      "replay of 20,000 events from the embedded bus and on the sales server handling "
      "2,000 RegisterCustomer calls from ghz.")
    for title, name in (("Replay, exclusive (self) cost, top functions", "replay_profile"),
                        ("Replay, inclusive cost", "replay_profile_inclusive"),
                        ("Command path (sales server), exclusive cost", "cmd_profile"),
                        ("Command path, inclusive cost", "cmd_profile_inclusive")):
        p = os.path.join(res, f"{name}.txt")
        if os.path.exists(p):
            with open(p) as f:
                text = f.read()
            # Keep the table, drop callgrind_annotate's preamble.
            lines = text.splitlines()
            start = next((i for i, l in enumerate(lines) if l.startswith("Ir")), 0)
            body = [l[:150] for l in lines[start:] if l.strip()][:32]
            w("")
            w(f"### {title}")
            w("")
            w("```")
            L.extend(body)
            w("```")
    w("")
    w("@@SETTINGS@@")
    w("")
    w("## Reproducing")
    w("")
    w("```sh")
    w("bench/run            # everything, ~10 minutes; writes docs/performance.md")
    w("bench/run --quick    # 100k events, short runs: tries the script")
    w("```")
    w("")
    w("Each part on its own (BUILD = `build-bench`, BOOT = the broker `bench/run` starts with "
      "`scripts/kafka start --fresh build-bench/kafka`):")
    w("")
    w("```sh")
    w("# 1. replay and its reference")
    w("BUILD/bench/bench_fill --bus kafka:BOOT --events 1000000 --customers 99000 \\")
    w("    --heavy-customers 10 --heavy-events 1000 --manifest M")
    w("scripts/kafka tool org.apache.kafka.tools.ConsumerPerformance --bootstrap-server BOOT \\")
    w("    --topic threadline.sales.v1 --messages N --group G --hide-header   # per topic, N from M")
    w("BUILD/bench/bench_replay --bus kafka:BOOT --out J")
    w("# 1b. replay with sealing: the same history twice on the embedded bus")
    w("BUILD/bench/bench_fill --bus embedded:B1 --events 200000 --customers 19800 \\")
    w("    --heavy-customers 2 --heavy-events 1000 --manifest M1")
    w("BUILD/bench/bench_replay --bus embedded:B1 --out J1")
    w("BUILD/bench/bench_fill --bus embedded:B2 --events 200000 --customers 19800 \\")
    w("    --heavy-customers 2 --heavy-events 1000 --manifest M2 --vault V")
    w("BUILD/bench/bench_replay --bus embedded:B2 --out J2 --vault V")
    w("# 4. reads on the replay's store, compacted first")
    w("BUILD/bench/bench_reads --bus kafka:BOOT --store J --manifest M --compact-first")
    w("# 2. command path (embedded; add --kafka-brokers=BOOT for Kafka)")
    w("BUILD/apps/threadline/threadline serve --target=sales,privacy --listen 127.0.0.1:P --data-dir D &")
    w("ghz --insecure --connections 4 --concurrency 64 --total 60000 --skipFirst 200 \\")
    w("    --proto proto/threadline/v1/sales.proto --import-paths proto \\")
    w("    --call threadline.v1.SalesService.RegisterCustomer \\")
    w("    --data '{\"request_id\":\"{{newUUID}}\",\"channel\":\"CHANNEL_WEB\","
      "\"name\":\"Bench Customer {{.RequestNumber}}\",\"emails\":[\"bench-{{newUUID}}@example.net\"],"
      "\"preferred_channel\":\"CHANNEL_EMAIL\"}' 127.0.0.1:P")
    w("ghz --insecure --connections 4 --concurrency 64 --total 200000 --skipFirst 200 \\")
    w("    --proto /usr/share/grpc-proto/grpc/health/v1/health.proto \\")
    w("    --import-paths /usr/share/grpc-proto --call grpc.health.v1.Health.Check --data '{}' \\")
    w("    127.0.0.1:P")
    w("# 3. end-to-end")
    w("scripts/kafka tool org.apache.kafka.tools.EndToEndLatency BOOT bench-e2e-reference 6000 all 400")
    w("BUILD/apps/threadline/threadline serve --target=sales,privacy --kafka-brokers=BOOT --listen 127.0.0.1:S --data-dir D1 &")
    w("BUILD/apps/threadline/threadline serve --target=journey --kafka-brokers=BOOT --privacy-address=127.0.0.1:S --listen 127.0.0.1:J --data-dir D2 &")
    w("BUILD/bench/bench_e2e --sales 127.0.0.1:S --journey 127.0.0.1:J --rate 200 --seconds 30")
    w("# 5. department store")
    w("BUILD/bench/bench_store --dir D --customers 20000")
    w("BUILD/bench/bench_store --dir D3 --vault V --customers 20000   # sealed")
    w("```")
    w("")
    w("ghz comes from `scripts/tools ghz` (Go module proxy, v0.120.0), the broker from "
      "`scripts/kafka fetch` (Maven Central). `bench/smoke` (CTest label `bench`) runs each "
      "tool on tiny inputs on the embedded bus.")
    w("")

    text = "\n".join(L)
    # Analysis paragraphs written for this code (bench/analysis.md), keyed by marker.
    here = os.path.dirname(os.path.abspath(__file__))
    sections = {}
    ap = os.path.join(here, "analysis.md")
    if os.path.exists(ap):
        cur = None
        with open(ap) as f:
            for line in f:
                if line.startswith("@@") and line.strip().endswith("@@"):
                    cur = line.strip()
                    sections[cur] = []
                elif cur:
                    sections[cur].append(line.rstrip("\n"))
    for marker in ("@@REPLAY_ANALYSIS@@", "@@COMMAND_ANALYSIS@@", "@@E2E_ANALYSIS@@",
                   "@@STORAGE_ANALYSIS@@", "@@SETTINGS@@"):
        text = text.replace(marker, "\n".join(sections.get(marker, [])).strip())
    with open(out_path, "w") as f:
        f.write(text.rstrip() + "\n")


if __name__ == "__main__":
    main()
