//! Byzantine replicas: up to f nodes handed to an adversary with a named, seeded strategy.
//!
//! ```text
//!   PbftNode::Honest(host)          the correct code, untouched
//!   PbftNode::Byzantine(adversary)  an honest host inside (it knows the protocol), whose
//!                                   messages and answers the strategy rewrites on the way out:
//!
//!   silent      sends nothing, answers nothing, writes nothing (a crash that never ends)
//!   equivocate  to the peers of one half, another request's PrePrepare for the same seq and
//!               another digest in its Prepares and Commits; lies in every answer to a client
//!   twins       two honest copies of one identity (DiemBFT's Twins): each talks to one half
//!               of the honest replicas, both to the other Byzantine nodes; writes nothing
//!   replay      honest, and every few ticks resends an old message (another node's, still
//!               validly signed) to a random peer; lies in answers
//!   flood       honest, and every few ticks sends PrePrepares and Prepares far outside the
//!               watermarks and views far ahead, signed by itself; lies in answers
//!   lie-vc      honest, but its ViewChanges claim the initial checkpoint and no prepared
//!               certificates (stale, not forged: it cannot sign as anyone else); lies in answers
//! ```
//!
//! One adversary for every host ([`PbftHost`], node.rs): the bare core's (`pbft/host.rs`) and
//! the KV store's (`OrderedReplica<Pbft>`). What it does to the protocol does not depend on
//! the host; how it lies to a client is the host's [`PbftHost::lie`].
//!
//! What an adversary can and cannot do is the authentication model's (`pbft` auth.rs): it
//! holds only its own `Signer`, so it can say anything as itself and replay what others said,
//! never say something new as another replica. Client requests are not signed in this model
//! (PBFT's clients sign theirs, OSDI §4.1), so a strategy only reuses requests it has seen:
//! inventing an op would be forging a client.
//!
//! With at most f Byzantine nodes the honest replicas agree (and the KV history is
//! linearizable); with f+1 twins they do not (`invariants.rs` says where), which shows the
//! checks can fail.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::str::FromStr;

use distributed_core::{Effects, Envelope, NodeId, Rng, SeededRng};
use pbft::{CheckpointCert, Commit, Message, PrePrepare, Prepare, Request, Signer, ViewChange};

use super::node::{PbftHost, PbftNode};

/// Old messages kept for replay, and client requests kept for equivocation.
const REMEMBERED_MAX: usize = 64;
/// An adversary acts on its own (replay, flood) once every this many ticks.
const ACT_EVERY_TICKS: u64 = 3;
/// How far outside the window a flooded seq or view lands.
const FLOOD_DISTANCE: u64 = 1 << 20;

/// A named adversary strategy (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strategy {
    /// Sends nothing.
    Silent,
    /// Different pre-prepares and votes to different peers.
    Equivocate,
    /// Two honest copies of one identity.
    Twins,
    /// Resends old messages.
    Replay,
    /// Messages far outside the watermarks.
    Flood,
    /// Stale checkpoint, no prepared certificates in its ViewChanges.
    LieInViewChange,
}

impl Strategy {
    /// Every strategy, in the order a seed picks from.
    pub const ALL: [Strategy; 6] = [
        Strategy::Silent,
        Strategy::Equivocate,
        Strategy::Twins,
        Strategy::Replay,
        Strategy::Flood,
        Strategy::LieInViewChange,
    ];
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Strategy::Silent => "silent",
            Strategy::Equivocate => "equivocate",
            Strategy::Twins => "twins",
            Strategy::Replay => "replay",
            Strategy::Flood => "flood",
            Strategy::LieInViewChange => "lie-vc",
        })
    }
}

impl FromStr for Strategy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Strategy::ALL
            .into_iter()
            .find(|x| x.to_string() == s)
            .ok_or_else(|| {
                format!(
                    "unknown strategy `{s}`: expected silent|equivocate|twins|replay|flood|lie-vc"
                )
            })
    }
}

/// One Byzantine replica around an honest host `R` (see the module docs).
pub struct Adversary<R: PbftHost> {
    /// What it does.
    strategy: Strategy,
    /// Its identity (both twins share it).
    me: NodeId,
    /// The honest peers the first half of its messages go to (the first twin's side).
    side_a: BTreeSet<NodeId>,
    /// Every Byzantine node (twins talk to them from both copies).
    byzantine: BTreeSet<NodeId>,
    /// The honest replica inside: it knows the protocol, the strategy edits what it says.
    inner: R,
    /// The second copy, for Twins.
    twin: Option<R>,
    /// Its own key: the only one it has.
    signer: Signer,
    /// Its choices (replay targets, which old message).
    rng: SeededRng,
    /// Messages it received, for replay; client requests it saw, for equivocation.
    seen: VecDeque<Envelope<Message>>,
    requests: VecDeque<Request>,
    /// Ticks so far, for acting every few.
    ticks: u64,
    /// The inner replicas' effects before the strategy edits them.
    scratch: Effects<R>,
}

impl<R: PbftHost> Adversary<R> {
    /// An adversary playing `strategy` as `inner`'s identity; `twin` is a second copy (Twins).
    pub fn new(
        strategy: Strategy,
        inner: R,
        twin: Option<R>,
        side_a: BTreeSet<NodeId>,
        byzantine: BTreeSet<NodeId>,
        rng: SeededRng,
    ) -> Adversary<R> {
        let signer = inner.core().signer().clone();
        Adversary {
            strategy,
            me: inner.core().id(),
            side_a,
            byzantine,
            inner,
            twin,
            signer,
            rng,
            seen: VecDeque::new(),
            requests: VecDeque::new(),
            ticks: 0,
            scratch: Effects::new(),
        }
    }

    /// The strategy it plays.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The honest host inside (its state is not trusted by any check).
    pub fn inner(&self) -> &R {
        &self.inner
    }

    fn remember(&mut self, env: Envelope<Message>) {
        if let Message::Request(r)
        | Message::PrePrepare(PrePrepare {
            request: Some(r), ..
        }) = &env.msg
        {
            push_bounded(&mut self.requests, r.clone());
        }
        push_bounded(&mut self.seen, env);
    }

    /// A message from a peer.
    pub fn step(&mut self, from: NodeId, msg: Message, out: &mut Effects<PbftNode<R>>) {
        if self.strategy == Strategy::Silent {
            return;
        }
        self.remember(Envelope {
            from,
            to: self.me,
            msg: msg.clone(),
        });
        let to_twin = self.twin.is_some() && !self.side_a.contains(&from);
        let both = self.byzantine.contains(&from);
        if !to_twin || both {
            self.inner.step(from, msg.clone(), &mut self.scratch);
            self.emit(false, out);
        }
        if let Some(twin) = self.twin.as_mut().filter(|_| to_twin || both) {
            twin.step(from, msg, &mut self.scratch);
            self.emit(true, out);
        }
    }

    /// A tick: both copies tick; replay and flood act every few ticks.
    pub fn tick(&mut self, out: &mut Effects<PbftNode<R>>) {
        if self.strategy == Strategy::Silent {
            return;
        }
        self.ticks += 1;
        self.inner.tick(&mut self.scratch);
        self.emit(false, out);
        if let Some(twin) = self.twin.as_mut() {
            twin.tick(&mut self.scratch);
            self.emit(true, out);
        }
        if self.ticks.is_multiple_of(ACT_EVERY_TICKS) {
            match self.strategy {
                Strategy::Replay => self.replay(out),
                Strategy::Flood => self.flood(out),
                _ => {}
            }
        }
    }

    /// A client's request: both copies see it.
    pub fn input(&mut self, input: R::Input, out: &mut Effects<PbftNode<R>>) {
        if self.strategy == Strategy::Silent {
            return;
        }
        self.inner.input(input.clone(), &mut self.scratch);
        self.emit(false, out);
        if let Some(twin) = self.twin.as_mut() {
            twin.input(input, &mut self.scratch);
            self.emit(true, out);
        }
    }

    /// Move the inner effects out, edited by the strategy. `from_twin`: the second copy's.
    fn emit(&mut self, from_twin: bool, out: &mut Effects<PbftNode<R>>) {
        let twins = self.twin.is_some();
        // Twins are volatile (two copies cannot share one disk); the others keep the inner
        // replica's promises on disk, so a restart does not make them honest by accident.
        if !twins {
            out.writes.append(&mut self.scratch.writes);
        }
        self.scratch.writes.clear();
        for env in std::mem::take(&mut self.scratch.messages) {
            if twins {
                let on_my_side = self.side_a.contains(&env.to) != from_twin;
                if on_my_side || self.byzantine.contains(&env.to) {
                    out.messages.push(env);
                }
                continue;
            }
            let edited = self.edit(env);
            out.messages.push(edited);
        }
        for output in self.scratch.outputs.drain(..) {
            if from_twin {
                continue; // one copy answers clients, as one identity would
            }
            // Twins are two honest copies: only their split is the attack.
            let told = match self.strategy {
                Strategy::Twins => output,
                _ => R::lie(output),
            };
            out.outputs.push(told);
        }
        out.notes.append(&mut self.scratch.notes);
    }

    /// The strategy's edit of one outgoing message.
    fn edit(&mut self, env: Envelope<Message>) -> Envelope<Message> {
        let other_half = !self.side_a.contains(&env.to);
        let msg = match (self.strategy, env.msg) {
            (Strategy::Equivocate, Message::PrePrepare(p)) if other_half => {
                let other = self.other_request(p.request.as_ref());
                Message::PrePrepare(PrePrepare::new(p.view, p.seq, other, &self.signer))
            }
            (Strategy::Equivocate, Message::Prepare(p)) if other_half => {
                let d = self.other_digest(p.digest);
                Message::Prepare(Prepare::new(p.view, p.seq, d, &self.signer))
            }
            (Strategy::Equivocate, Message::Commit(c)) if other_half => {
                let d = self.other_digest(c.digest);
                Message::Commit(Commit::new(c.view, c.seq, d, &self.signer))
            }
            (Strategy::LieInViewChange, Message::ViewChange(vc)) => {
                let stale = CheckpointCert::default();
                Message::ViewChange(ViewChange::new(
                    vc.new_view,
                    stale,
                    Vec::new(),
                    &self.signer,
                ))
            }
            (_, msg) => msg,
        };
        Envelope { msg, ..env }
    }

    /// A seen request other than `not`, if any (`None`: a null request).
    fn other_request(&self, not: Option<&Request>) -> Option<Request> {
        self.requests
            .iter()
            .rev()
            .find(|r| Some(*r) != not)
            .cloned()
    }

    fn other_digest(&self, not: pbft::Digest) -> pbft::Digest {
        self.requests
            .iter()
            .rev()
            .map(Request::digest)
            .find(|d| *d != not)
            .unwrap_or(pbft::Digest::NULL)
    }

    /// Resend an old message (its signature is still valid) to a random peer.
    fn replay(&mut self, out: &mut Effects<PbftNode<R>>) {
        if self.seen.is_empty() {
            return;
        }
        let pick = self.rng.range(0, self.seen.len() as u64) as usize;
        let n = self.inner.core().config().replicas.len() as u64;
        let to = NodeId(self.rng.range(1, n + 1));
        if to != self.me {
            let msg = self.seen[pick].msg.clone();
            out.messages.push(Envelope {
                from: self.me,
                to,
                msg,
            });
        }
    }

    /// PrePrepares and Prepares far beyond the window, and a view far ahead, to every peer.
    fn flood(&mut self, out: &mut Effects<PbftNode<R>>) {
        let core = self.inner.core();
        let (view, seq) = (core.view(), core.low_watermark() + FLOOD_DISTANCE);
        let far = PrePrepare::new(
            view + FLOOD_DISTANCE,
            seq,
            self.other_request(None),
            &self.signer,
        );
        let vote = Prepare::new(
            view,
            seq + self.rng.range(0, 1 << 10),
            pbft::Digest::NULL,
            &self.signer,
        );
        for &to in core.config().replicas.iter().filter(|&&r| r != self.me) {
            out.messages.push(Envelope {
                from: self.me,
                to,
                msg: Message::PrePrepare(far.clone()),
            });
            out.messages.push(Envelope {
                from: self.me,
                to,
                msg: Message::Prepare(vote.clone()),
            });
        }
    }
}

fn push_bounded<T>(q: &mut VecDeque<T>, x: T) {
    if q.len() >= REMEMBERED_MAX {
        q.pop_front();
    }
    q.push_back(x);
}
