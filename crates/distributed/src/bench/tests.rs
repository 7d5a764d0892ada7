//! Flag parsing of `distributed bench`: every bad flag is a clear error naming the flag.

use clap::Parser;

use super::*;

/// A stand-in top-level parser so the tests go through clap like the binary does.
#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    bench: BenchArgs,
}

fn parse(args: &[&str]) -> Result<Plan, String> {
    let cli = Cli::try_parse_from(std::iter::once("bench").chain(args.iter().copied()))
        .map_err(|e| e.to_string())?;
    plan(&cli.bench)
}

fn error_of(args: &[&str]) -> String {
    parse(args).expect_err("these flags are refused")
}

#[test]
fn defaults_are_one_client_ten_thousand_linearizable_writes_of_etcds_published_shape() {
    let p = parse(&["--target", "resp://127.0.0.1:6379"]).expect("valid");
    assert_eq!(p.backend, Backend::Resp);
    assert_eq!(p.endpoints, vec!["127.0.0.1:6379"]);
    assert_eq!((p.clients, p.conns), (1, 1));
    assert_eq!(p.stop, Stop::Total(10_000));
    assert_eq!((p.key_size, p.val_size), (8, 256));
    assert_eq!(p.read_ratio, 0.0);
    assert_eq!(p.consistency, Consistency::Linearizable);
    assert_eq!(p.warmup, Duration::ZERO);
    assert_eq!(p.timeout, Duration::from_secs(10));
}

#[test]
fn a_full_flag_set_lands_in_the_plan() {
    let p = parse(&[
        "--target",
        "resp://127.0.0.1:1,127.0.0.1:2,127.0.0.1:3",
        "--clients",
        "256",
        "--duration",
        "1500ms",
        "--key-size",
        "16",
        "--val-size",
        "0",
        "--keys",
        "100",
        "--read-ratio",
        "0.5",
        "--warmup",
        "2s",
        "--preload",
        "--json",
        "-",
    ])
    .expect("valid");
    assert_eq!(p.endpoints.len(), 3);
    assert_eq!((p.clients, p.conns), (256, 256));
    assert_eq!(p.stop, Stop::Duration(Duration::from_millis(1500)));
    assert_eq!((p.key_size, p.val_size, p.keys), (16, 0, 100));
    assert_eq!(p.read_ratio, 0.5);
    assert_eq!(p.warmup, Duration::from_secs(2));
    assert!(p.preload);
    assert_eq!(p.json.as_deref(), Some(std::path::Path::new("-")));
}

#[test]
fn a_target_needs_a_known_scheme_and_host_port_endpoints() {
    assert!(error_of(&["--target", "http://127.0.0.1:1"]).contains("expected resp://"));
    assert!(error_of(&["--target", "resp://127.0.0.1"]).contains("not HOST:PORT"));
    assert!(error_of(&["--target", "resp://127.0.0.1:0"]).contains("not HOST:PORT"));
    assert!(error_of(&["--target", "resp://:80"]).contains("not HOST:PORT"));
    assert!(error_of(&["--target", "resp://a:1,,b:2"]).contains("not HOST:PORT"));
    let many = format!("resp://{}", vec!["h:1"; 17].join(","));
    assert!(error_of(&["--target", &many]).contains("at most 16"));
}

#[test]
fn resp_refuses_shared_connections_but_takes_serializable_reads() {
    let t = ["--target", "resp://127.0.0.1:1"];
    let e = error_of(&[&t[..], &["--clients", "8", "--conns", "2"]].concat());
    assert!(e.contains("--conns 2 with --clients 8"), "{e}");
    let p = parse(&[&t[..], &["--consistency", "serializable"]].concat()).expect("valid");
    assert_eq!(
        p.consistency,
        Consistency::Serializable,
        "READONLY connections"
    );
    let e = error_of(&[&t[..], &["--consistency", "eventual"]].concat());
    assert!(e.contains("--consistency \"eventual\""), "{e}");
}

#[cfg(feature = "etcd")]
#[test]
fn etcd_clients_share_fewer_connections_and_may_read_serializably() {
    let p = parse(&[
        "--target",
        "etcd://127.0.0.1:23791",
        "--clients",
        "100",
        "--conns",
        "10",
        "--consistency",
        "serializable",
    ])
    .expect("valid");
    assert_eq!((p.backend, p.clients, p.conns), (Backend::Etcd, 100, 10));
    assert_eq!(p.consistency, Consistency::Serializable);
}

#[cfg(not(feature = "etcd"))]
#[test]
fn an_etcd_target_without_the_feature_says_how_to_build_it() {
    let e = error_of(&["--target", "etcd://127.0.0.1:23791"]);
    assert!(e.contains("--features etcd"), "{e}");
}

#[test]
fn numbers_out_of_range_name_their_flag() {
    let t = ["--target", "resp://127.0.0.1:1"];
    let cases: &[(&[&str], &str)] = &[
        (&["--clients", "0"], "--clients 0"),
        (&["--clients", "10001"], "--clients 10001"),
        (&["--total", "0"], "--total 0"),
        (&["--keys", "0"], "--keys 0"),
        (&["--key-size", "0"], "--key-size 0"),
        (&["--key-size", "2", "--keys", "1000"], "cannot hold 1000"),
        (&["--val-size", "2000000"], "--val-size 2000000"),
        (&["--read-ratio", "1.5"], "--read-ratio 1.5"),
        (&["--read-ratio=-0.1"], "--read-ratio -0.1"),
        (&["--duration", "0s"], "--duration must be more than 0"),
        (&["--duration", "10"], "--duration \"10\""),
        (&["--duration", "2h"], "--duration \"2h\""),
        (&["--duration", "4000s"], "at most 3600s"),
        (&["--warmup=-1s"], "--warmup \"-1s\""),
        (&["--timeout", "0ms"], "--timeout must be more than 0"),
    ];
    for (args, needle) in cases {
        let e = error_of(&[&t[..], args].concat());
        assert!(e.contains(needle), "{args:?}: {e}");
    }
}

#[test]
fn total_and_duration_are_exclusive() {
    let e = error_of(&[
        "--target",
        "resp://127.0.0.1:1",
        "--total",
        "5",
        "--duration",
        "1s",
    ]);
    assert!(e.contains("cannot be used with"), "{e}");
}

#[test]
fn keys_that_exactly_fill_the_key_size_are_accepted() {
    let p = parse(&[
        "--target",
        "resp://127.0.0.1:1",
        "--key-size",
        "2",
        "--keys",
        "100",
    ])
    .expect("keys 00..99 fit two bytes");
    assert_eq!(p.keys, 100);
}
