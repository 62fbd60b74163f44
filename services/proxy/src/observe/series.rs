//! Request counters of one label set (an entrypoint, a router, a service), updated without
//! locks: every (protocol, method, status code) has its own cell of atomics, allocated on
//! first use. The first threads that record (the workers) each own a shard that only they
//! write, so their updates are plain loads and stores, with no read-modify-write and no
//! cache line bouncing between cores; any further thread shares one overflow shard updated
//! with atomic adds. Scrapes add the shards up.

use std::cell::Cell as StdCell;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Traefik's default duration buckets, in seconds.
pub const BUCKETS: [f64; 4] = [0.1, 0.3, 1.2, 5.0];
/// The same bounds in nanoseconds, so that placing an observation needs no float maths.
const BUCKET_NS: [u64; 4] = [100_000_000, 300_000_000, 1_200_000_000, 5_000_000_000];

/// Protocol label values, Traefik's `getRequestProtocol`.
pub const PROTOCOLS: [&str; 5] = ["http", "sse", "websocket", "grpc", "grpc-web"];
/// Method label values: the RFC verbs Traefik keeps, then its catch-all.
pub const METHODS: [&str; 11] = [
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "CONNECT",
    "OPTIONS",
    "TRACE",
    "PATCH",
    "PRI",
    "EXTENSION_METHOD",
];
const COMBOS: usize = PROTOCOLS.len() * METHODS.len();
/// Codes are kept exactly from 0 (gRPC statuses) to 999 (the largest HTTP status).
pub const MAX_CODE: u16 = 999;

/// Which cell of a series an observation lands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// Index into [`PROTOCOLS`].
    pub protocol: u8,
    /// Index into [`METHODS`].
    pub method: u8,
    /// The status code, at most [`MAX_CODE`].
    pub code: u16,
}

/// What a scrape reads from one cell (all shards added up).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Requests.
    pub count: u64,
    /// Requests per bucket (not cumulative); the rest are above the last bound.
    pub buckets: [u64; 4],
    /// Sum of durations, in nanoseconds.
    pub sum_ns: u64,
    /// Request body bytes.
    pub request_bytes: u64,
    /// Response body bytes.
    pub response_bytes: u64,
}

impl Totals {
    /// The request count as the histogram's `+Inf` bucket must show it: a scrape racing an
    /// update may read a bucket before the count moved, and `+Inf` must not be below it.
    pub fn histogram_count(&self) -> u64 {
        self.count.max(self.buckets.iter().sum())
    }
}

/// Eight counters: one cache line.
#[derive(Default)]
struct Cell {
    count: AtomicU64,
    buckets: [AtomicU64; 4],
    sum_ns: AtomicU64,
    request_bytes: AtomicU64,
    response_bytes: AtomicU64,
}

/// Adds `v` to `counter`. A shard's only writer may load and store: no other thread can
/// interleave an update, and readers only ever see a whole value.
fn add(counter: &AtomicU64, v: u64, single_writer: bool) {
    if single_writer {
        counter.store(
            counter.load(Ordering::Relaxed).wrapping_add(v),
            Ordering::Relaxed,
        );
    } else {
        counter.fetch_add(v, Ordering::Relaxed);
    }
}

impl Cell {
    fn record(
        &self,
        elapsed_ns: u64,
        request_bytes: u64,
        response_bytes: u64,
        single_writer: bool,
    ) {
        if let Some(i) = BUCKET_NS.iter().position(|&bound| elapsed_ns <= bound) {
            add(&self.buckets[i], 1, single_writer);
        }
        add(&self.sum_ns, elapsed_ns, single_writer);
        if request_bytes != 0 {
            add(&self.request_bytes, request_bytes, single_writer);
        }
        if response_bytes != 0 {
            add(&self.response_bytes, response_bytes, single_writer);
        }
        add(&self.count, 1, single_writer);
    }

    fn add_to(&self, t: &mut Totals) {
        t.count += self.count.load(Ordering::Relaxed);
        for (sum, bucket) in t.buckets.iter_mut().zip(&self.buckets) {
            *sum += bucket.load(Ordering::Relaxed);
        }
        t.sum_ns += self.sum_ns.load(Ordering::Relaxed);
        t.request_bytes += self.request_bytes.load(Ordering::Relaxed);
        t.response_bytes += self.response_bytes.load(Ordering::Relaxed);
    }
}

/// Ten consecutive codes (`200..=209`).
type Decade = [Cell; 10];

/// One hundred codes (`2xx`), by tens, each ten allocated when first seen.
#[derive(Default)]
struct Class {
    decades: [OnceLock<Box<Decade>>; 10],
}

/// One (protocol, method) pair: its codes by hundreds.
#[derive(Default)]
struct Combo {
    classes: [OnceLock<Box<Class>>; 10],
}

/// What one worker writes to.
struct Shard {
    combos: [OnceLock<Box<Combo>>; COMBOS],
}

impl Default for Shard {
    fn default() -> Self {
        Self {
            combos: std::array::from_fn(|_| OnceLock::new()),
        }
    }
}

/// The counters of one label set.
pub struct Series {
    /// `owned` single-writer shards, then the shared one.
    shards: Box<[OnceLock<Box<Shard>>]>,
    owned: usize,
}

impl std::fmt::Debug for Series {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Series")
            .field("owned", &self.owned)
            .finish()
    }
}

impl Default for Series {
    fn default() -> Self {
        Self::with_owned_shards(owned_shards())
    }
}

/// Single-writer shards per series: one per core (actix starts a worker per core), bounded
/// so that idle series stay small on big machines.
fn owned_shards() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 16)
    })
}

/// This thread's ordinal, unique in the process, handed out on first use: the first
/// threads to record are the workers.
fn thread_ordinal() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static ORDINAL: StdCell<usize> = const { StdCell::new(usize::MAX) };
    }
    ORDINAL.with(|o| {
        let mut v = o.get();
        if v == usize::MAX {
            v = NEXT.fetch_add(1, Ordering::Relaxed);
            o.set(v);
        }
        v
    })
}

impl Series {
    /// A series whose first `owned` recording threads (process-wide ordinals) write their
    /// own shard; every other thread writes the shared one.
    pub fn with_owned_shards(owned: usize) -> Self {
        Self {
            shards: (0..=owned).map(|_| OnceLock::new()).collect(),
            owned,
        }
    }

    /// Records one request.
    pub fn record(&self, key: Key, elapsed_ns: u64, request_bytes: u64, response_bytes: u64) {
        let ordinal = thread_ordinal();
        let single_writer = ordinal < self.owned;
        let index = if single_writer { ordinal } else { self.owned };
        let Some(slot) = self.shards.get(index) else {
            return;
        };
        let shard = slot.get_or_init(Box::default);
        let combo_index = usize::from(key.protocol) * METHODS.len() + usize::from(key.method);
        let Some(combo) = shard.combos.get(combo_index) else {
            return;
        };
        let code = usize::from(key.code.min(MAX_CODE));
        let class = combo.get_or_init(Box::default).classes[code / 100].get_or_init(Box::default);
        let decade = class.decades[code / 10 % 10].get_or_init(Box::default);
        decade[code % 10].record(elapsed_ns, request_bytes, response_bytes, single_writer);
    }

    /// Every cell that saw a request, shards added up, in key order.
    pub fn collect(&self) -> BTreeMap<Key, Totals> {
        let mut out: BTreeMap<Key, Totals> = BTreeMap::new();
        for shard in self.shards.iter().filter_map(OnceLock::get) {
            for (combo_index, combo) in shard.combos.iter().enumerate() {
                let Some(combo) = combo.get() else { continue };
                let protocol = (combo_index / METHODS.len()) as u8;
                let method = (combo_index % METHODS.len()) as u8;
                for (c, class) in combo.classes.iter().enumerate() {
                    let Some(class) = class.get() else { continue };
                    for (d, decade) in class.decades.iter().enumerate() {
                        let Some(decade) = decade.get() else { continue };
                        for (u, cell) in decade.iter().enumerate() {
                            let mut totals = Totals::default();
                            cell.add_to(&mut totals);
                            if totals.count == 0 && totals.buckets.iter().all(|&b| b == 0) {
                                continue;
                            }
                            let code = (c * 100 + d * 10 + u) as u16;
                            let entry = out
                                .entry(Key {
                                    protocol,
                                    method,
                                    code,
                                })
                                .or_default();
                            entry.count += totals.count;
                            for (a, b) in entry.buckets.iter_mut().zip(totals.buckets) {
                                *a += b;
                            }
                            entry.sum_ns += totals.sum_ns;
                            entry.request_bytes += totals.request_bytes;
                            entry.response_bytes += totals.response_bytes;
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn key(code: u16) -> Key {
        Key {
            protocol: 0,
            method: 0,
            code,
        }
    }

    #[test]
    fn durations_land_in_the_first_bucket_that_holds_them() {
        // (case, duration in ns, expected per-bucket counts)
        let cases = [
            ("zero", 0, [1, 0, 0, 0]),
            ("just under 0.1s", 99 * MS, [1, 0, 0, 0]),
            ("exactly 0.1s is le=0.1", 100 * MS, [1, 0, 0, 0]),
            ("just over 0.1s", 100 * MS + 1, [0, 1, 0, 0]),
            ("exactly 0.3s", 300 * MS, [0, 1, 0, 0]),
            ("one second", 1000 * MS, [0, 0, 1, 0]),
            ("exactly 1.2s", 1200 * MS, [0, 0, 1, 0]),
            ("exactly 5s", 5000 * MS, [0, 0, 0, 1]),
            ("above every bound: +Inf only", 5000 * MS + 1, [0, 0, 0, 0]),
        ];
        for (case, ns, expected) in cases {
            let s = Series::with_owned_shards(1);
            s.record(key(200), ns, 0, 0);
            let t = s.collect()[&key(200)];
            assert_eq!(t.buckets, expected, "{case}");
            assert_eq!((t.count, t.sum_ns), (1, ns), "{case}");
        }
    }

    #[test]
    fn codes_protocols_and_methods_are_kept_apart() {
        let s = Series::with_owned_shards(3);
        let keys = [
            key(0),
            key(200),
            key(201),
            key(210),
            key(499),
            key(999),
            Key {
                protocol: 4,
                method: 10,
                code: 200,
            },
            Key {
                protocol: 2,
                method: 1,
                code: 101,
            },
        ];
        for (i, k) in keys.iter().enumerate() {
            for _ in 0..=i {
                s.record(*k, MS, 10, 100);
            }
        }
        let got = s.collect();
        assert_eq!(got.len(), keys.len());
        for (i, k) in keys.iter().enumerate() {
            let n = i as u64 + 1;
            assert_eq!(
                got[k],
                Totals {
                    count: n,
                    buckets: [n, 0, 0, 0],
                    sum_ns: n * MS,
                    request_bytes: 10 * n,
                    response_bytes: 100 * n
                },
                "{k:?}"
            );
        }
    }

    #[test]
    fn codes_above_999_are_clamped() {
        let s = Series::with_owned_shards(1);
        s.record(key(u16::MAX), 0, 0, 0);
        assert_eq!(
            s.collect().keys().copied().collect::<Vec<_>>(),
            vec![key(999)]
        );
    }

    #[test]
    fn shards_written_by_many_threads_add_up() {
        // Ordinals are process-wide and only the few test threads that record take one
        // before: of 80 threads here, the first get owned shards and the rest share one.
        let s = std::sync::Arc::new(Series::with_owned_shards(64));
        let threads: Vec<_> = (0..80)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        s.record(key(200), 2 * MS, 1, 2);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let t = s.collect()[&key(200)];
        assert_eq!(
            (
                t.count,
                t.buckets[0],
                t.request_bytes,
                t.response_bytes,
                t.sum_ns
            ),
            (80_000, 80_000, 80_000, 160_000, 160_000 * MS)
        );
    }

    #[test]
    fn racing_reads_never_show_inf_below_a_bucket() {
        let t = Totals {
            count: 2,
            buckets: [3, 0, 0, 0],
            ..Totals::default()
        };
        assert_eq!(t.histogram_count(), 3);
    }
}
