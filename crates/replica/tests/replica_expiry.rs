//! Active expiry: the leader's clock becomes `DISTRIBUTED.EXPIRE` entries, so a key whose time
//! came is deleted on every replica without client traffic, at the same entry everywhere
//! (Raft §5.3), and never revived by a leader whose clock is behind.

mod cluster;

use bytes::Bytes;
use cluster::{b, get, put, request, value, Cluster};
use distributed_core::NodeId;
use kv::{Command, Limits, Reply, Request};
use replica::{Input, Outcome};

fn cmd(words: &[&str]) -> Command {
    Command::from_words(words.iter().map(|w| b(w)).collect()).expect("a valid command")
}

/// `r`, stamped with log time `time_ms` (as the leader's host would stamp it).
fn at(time_ms: u64, mut r: Request) -> Request {
    r.time_ms = time_ms;
    r
}

/// The keys of every `DISTRIBUTED.EXPIRE` entry in `id`'s log, in log order.
fn expiry_entries(c: &Cluster, id: NodeId) -> Vec<Vec<Bytes>> {
    let limits = Limits::default();
    (c.node(id).raft().entries().iter())
        .filter_map(|e| Request::decode(&e.data, &limits).ok())
        .filter_map(|r| r.command().cloned())
        .filter(|c| c.name() == "distributed.expire")
        .map(|c| c.args().to_vec())
        .collect()
}

fn others(c: &Cluster, id: NodeId) -> Vec<NodeId> {
    c.ids.iter().copied().filter(|&o| o != id).collect()
}

/// Run rounds until a node other than `old` leads the others (bounded); returns it.
fn elect_another(c: &mut Cluster, old: NodeId) -> NodeId {
    for _ in 0..1000 {
        c.run(1);
        let leader =
            (others(c, old).into_iter()).find(|&id| c.node(id).raft().role() == raft::Role::Leader);
        if let Some(id) = leader {
            return id;
        }
    }
    panic!("no leader among the others within 1000 rounds");
}

#[test]
fn the_leader_deletes_a_key_whose_time_came_through_the_log_without_client_traffic() {
    let mut c = Cluster::new(3, 51);
    let leader = c.elect_any();
    let set = cmd(&["set", "k", "v", "PX", "1000"]);
    assert_eq!(c.execute(at(10_000, request(1, 1, set))), Reply::ok());
    assert_eq!(
        c.execute(at(10_000, request(1, 2, put("stays", "v")))),
        Reply::ok()
    );
    c.run(2);
    let last = c.node(leader).raft().last_index();
    c.clock_all(10_999);
    c.run(2);
    assert_eq!(
        c.node(leader).raft().last_index(),
        last,
        "nothing is due yet"
    );
    c.clock_all(11_000);
    c.run(3);
    for node in c.live() {
        let machine = node.machine();
        assert_eq!(machine.len(), 1, "reclaimed, not just unreadable");
        assert_eq!((machine.get(b"k"), machine.clock_ms()), (None, 11_000));
        assert_eq!(machine.next_expiry_ms(), None);
    }
    assert_eq!(expiry_entries(&c, leader), [vec![b("k")]]);
    assert_eq!(c.node(leader).expiry_in_flight(), None);
}

#[test]
fn followers_never_propose_expiry_whatever_their_clock_says() {
    let mut c = Cluster::new(3, 52);
    let leader = c.elect_any();
    let set = cmd(&["set", "k", "v", "PX", "10"]);
    c.execute(at(1_000, request(1, 1, set)));
    c.run(2);
    let last = c.node(leader).raft().last_index();
    for follower in others(&c, leader) {
        c.input(follower, Input::Clock { now_ms: 50_000 });
        assert_eq!(c.node(follower).host_clock_ms(), Some(50_000));
    }
    c.deliver_all();
    for node in c.live() {
        assert_eq!(node.raft().last_index(), last);
        assert_eq!(node.machine().len(), 1, "stored until the leader acts");
    }
}

#[test]
fn one_expiry_entry_is_in_flight_at_a_time_and_each_names_at_most_the_bound() {
    let mut c = Cluster::with(3, 53, |config| config.expire_keys_per_entry_max = 2);
    let leader = c.elect_any();
    for (seq, key) in (1..).zip(["a", "b", "c", "d", "e"]) {
        let set = cmd(&["set", key, "v", "PX", "100"]);
        assert_eq!(c.execute(at(1_000, request(1, seq, set))), Reply::ok());
    }
    c.run(2);
    c.isolate(leader); // nothing commits: the first entry stays in flight
    for now_ms in [2_000, 2_001, 2_002] {
        c.input(leader, Input::Clock { now_ms });
    }
    assert_eq!(expiry_entries(&c, leader), [vec![b("a"), b("b")]]);
    assert!(c.node(leader).expiry_in_flight().is_some());
    c.heal();
    for _ in 0..20 {
        c.clock_all(2_100);
        c.run(1);
    }
    let entries = expiry_entries(&c, leader);
    assert_eq!(entries.len(), 3, "2 + 2 + 1 keys: {entries:?}");
    assert!(entries.iter().all(|keys| keys.len() <= 2));
    assert!(c.live().all(|n| n.machine().is_empty()));
}

#[test]
fn a_key_set_again_after_the_proposal_survives_the_expiry_entry_that_names_it() {
    // The entry is checked again where it applies: the SET before it in the log won.
    let mut c = Cluster::new(3, 54);
    let leader = c.elect_any();
    let set = cmd(&["set", "k", "old", "PX", "100"]);
    c.execute(at(1_000, request(1, 1, set)));
    c.run(2);
    c.isolate(leader);
    let tag = c.submit(leader, at(1_050, request(1, 2, put("k", "new"))));
    c.input(leader, Input::Clock { now_ms: 1_200 });
    assert_eq!(
        expiry_entries(&c, leader),
        [vec![b("k")]],
        "proposed from the applied state, where k still expires at 1100"
    );
    c.heal();
    assert_eq!(c.wait_for(tag), Outcome::Done(Reply::ok()));
    c.run(3);
    for node in c.live() {
        assert_eq!(node.machine().get(b"k"), Some(&b("new")));
    }
    assert_eq!(c.execute(at(1_300, request(1, 3, get("k")))), value("new"));
}

#[test]
fn a_new_leader_whose_clock_is_behind_delays_expiry_but_never_revives_a_key() {
    let mut c = Cluster::new(3, 55);
    let first = c.elect_any();
    let soon = cmd(&["set", "k1", "v", "PX", "1000"]);
    let later = cmd(&["set", "k2", "v", "PX", "10000"]);
    c.execute(at(10_000, request(1, 1, soon)));
    c.execute(at(10_000, request(1, 2, later)));
    c.run(2);
    c.clock_all(11_000);
    c.run(3);
    c.crash(first);
    let second = c.elect_any();
    assert_ne!(second, first);
    c.clock_all(9_000); // this leader's clock runs behind the first one's
    c.run(3);
    assert_eq!(
        c.execute(at(9_000, request(1, 3, put("k3", "v")))),
        Reply::ok()
    );
    for node in c.live() {
        let machine = node.machine();
        assert_eq!(machine.clock_ms(), 11_000, "the log's time is a max");
        assert_eq!(machine.get(b"k1"), None, "still expired");
        assert_eq!(machine.get(b"k2"), Some(&b("v")), "not due by this clock");
    }
    c.clock_all(20_000);
    c.run(3);
    assert!(c.live().all(|n| n.machine().get(b"k2").is_none()));
}

#[test]
fn a_new_leader_proposes_again_what_a_deposed_leader_left_uncommitted() {
    let mut c = Cluster::new(3, 56);
    let first = c.elect_any();
    c.execute(at(
        1_000,
        request(1, 1, cmd(&["set", "k", "v", "PX", "10"])),
    ));
    c.run(2);
    c.isolate(first);
    c.input(first, Input::Clock { now_ms: 2_000 });
    assert_eq!(
        expiry_entries(&c, first).len(),
        1,
        "proposed, never to commit"
    );
    let second = elect_another(&mut c, first);
    for _ in 0..5 {
        c.clock_all(2_000);
        c.run(1);
    }
    assert_eq!(c.node(second).machine().get(b"k"), None);
    assert!(c.node(second).machine().is_empty());
    c.heal();
    c.run(10);
    assert!(
        c.live().all(|n| n.machine().is_empty()),
        "the old leader too"
    );
}

#[test]
fn containers_with_a_ttl_are_reclaimed_by_active_expiry_like_strings() {
    let mut c = Cluster::new(3, 57);
    let leader = c.elect_any();
    let writes: [&[&str]; 5] = [
        &["hset", "h", "f", "1"],
        &["rpush", "l", "a"],
        &["pexpire", "h", "100"],
        &["pexpire", "l", "200"],
        &["sadd", "s", "m"],
    ];
    for (seq, words) in (1..).zip(writes) {
        let reply = c.execute(at(1_000, request(1, seq, cmd(words))));
        assert!(!reply.is_error(), "{words:?}: {reply:?}");
    }
    c.run(2);
    c.clock_all(1_150);
    c.run(3);
    assert_eq!(expiry_entries(&c, leader), [vec![b("h")]], "only h is due");
    c.clock_all(1_250);
    c.run(3);
    assert_eq!(expiry_entries(&c, leader), [vec![b("h")], vec![b("l")]]);
    for node in c.live() {
        assert_eq!(
            node.machine().len(),
            1,
            "only the set without a TTL is left"
        );
        assert_eq!(node.machine().next_expiry_ms(), None);
    }
}
