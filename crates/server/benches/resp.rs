//! RESP front-end costs per request: parse a client command, turn it into a `kv::Command`, and
//! encode the reply, on the shapes the comparison benchmark sends (8-byte keys, 256-byte values).
//! criterion reports `elem/s` = requests (or replies) per second on one core.
//!
//! ```text
//!   parse_set_1          one SET frame from a buffer            (what one un-pipelined client sends)
//!   parse_set_64         64 pipelined SETs from one buffer      (what redis-benchmark -P 64 sends)
//!   parse_interpret_get  GET frame ──► Action::Kv(Get)          (parse + command table)
//!   encode_ok / encode_bulk_256   the replies of SET and GET
//! ```
//!
//! Run: `cargo bench -p server --bench resp`.

use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use server::clients::command::{interpret, Action};
use server::clients::resp::{encode, parse_frame, Frame, Limits};

/// The request shape of etcd's published write benchmark.
const KEY_BYTES: usize = 8;
const VALUE_BYTES: usize = 256;
/// Commands in the pipelined case.
const PIPELINE_DEPTH: usize = 64;

fn command(words: &[&[u8]]) -> Vec<u8> {
    let frame = Frame::Array(words.iter().map(|w| Frame::bulk(w.to_vec())).collect());
    let mut out = BytesMut::new();
    encode(&frame, &mut out);
    out.to_vec()
}

fn parse(c: &mut Criterion) {
    let key = vec![b'k'; KEY_BYTES];
    let value = vec![b'v'; VALUE_BYTES];
    let set = command(&[b"SET", &key, &value]);
    let get = command(&[b"GET", &key]);
    let limits = Limits::default();
    let mut group = c.benchmark_group("resp_parse");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse_set_1", |b| {
        b.iter(|| {
            let mut buf = BytesMut::from(&set[..]);
            black_box(
                parse_frame(&mut buf, &limits)
                    .expect("valid")
                    .expect("whole"),
            )
        })
    });
    group.bench_function("parse_interpret_get", |b| {
        b.iter(|| {
            let mut buf = BytesMut::from(&get[..]);
            let frame = parse_frame(&mut buf, &limits)
                .expect("valid")
                .expect("whole");
            let action = interpret(frame);
            assert!(matches!(action, Action::Kv(_)));
            black_box(action)
        })
    });
    let pipelined = set.repeat(PIPELINE_DEPTH);
    group.throughput(Throughput::Elements(PIPELINE_DEPTH as u64));
    group.bench_function("parse_set_64", |b| {
        b.iter(|| {
            let mut buf = BytesMut::from(&pipelined[..]);
            let mut n = 0;
            while let Some(frame) = parse_frame(&mut buf, &limits).expect("valid") {
                black_box(frame);
                n += 1;
            }
            assert_eq!(n, PIPELINE_DEPTH);
        })
    });
    group.finish();
}

fn encode_replies(c: &mut Criterion) {
    let ok = Frame::Simple("OK".into());
    let bulk = Frame::bulk(vec![b'v'; VALUE_BYTES]);
    let mut group = c.benchmark_group("resp_encode");
    group.throughput(Throughput::Elements(1));
    for (name, frame) in [("encode_ok", ok), ("encode_bulk_256", bulk)] {
        let mut out = BytesMut::with_capacity(1024);
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                encode(black_box(&frame), &mut out);
                black_box(out.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parse, encode_replies);
criterion_main!(benches);
