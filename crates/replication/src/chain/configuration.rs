//! A chain configuration: which replicas form the chain, in which order, under which epoch.
//! Only the master makes one (OSDI '04 §3); every replica adopts the newest it hears of.
//!
//! ```text
//!   Configuration{epoch=4 chain=[n1,n3,n4] joining=n4}
//!                                 │   │   └── tail, still receiving its state: serves nothing
//!                                 │   └────── middle: predecessor n1, successor n4
//!                                 └────────── head: takes every put
//! ```
//!
//! Invariants (asserted by [`Configuration::new`]): the chain is non-empty and lists no node
//! twice; a joining node is the tail, and not the only member (somebody must send it state).
//! Epochs only grow: a replica adopts a configuration only with a higher epoch than its own.

use std::fmt;

use distributed_core::NodeId;

/// A configuration's number. Every message between replicas carries the sender's, and a
/// receiver refuses one from another epoch: it was sent under a chain that no longer holds.
pub type Epoch = u64;

/// One chain configuration, as the master hands it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Configuration {
    /// Which configuration this is; the master's first is epoch 1 (`Config::chain`).
    pub epoch: Epoch,
    /// The replicas, head first, tail last.
    pub chain: Vec<NodeId>,
    /// The tail, if it is still receiving its state from its predecessor (§3, "extending a
    /// chain"). Until the master hears it is complete and drops the mark in a new epoch, it
    /// serves no reads, and neither does anyone as tail.
    pub joining: Option<NodeId>,
}

impl Configuration {
    /// A configuration; panics if it breaks the invariants of the module docs.
    pub fn new(epoch: Epoch, chain: Vec<NodeId>, joining: Option<NodeId>) -> Configuration {
        assert!(!chain.is_empty(), "a chain has at least one member");
        for (k, node) in chain.iter().enumerate() {
            assert!(
                !chain[k + 1..].contains(node),
                "{node} is twice in the chain {chain:?}"
            );
        }
        if let Some(j) = joining {
            assert!(
                chain.last() == Some(&j) && chain.len() > 1,
                "the joining node {j} must be the tail of {chain:?}, behind a full member"
            );
        }
        Configuration {
            epoch,
            chain,
            joining,
        }
    }

    /// The head: where puts go.
    pub fn head(&self) -> NodeId {
        self.chain[0]
    }

    /// The tail: where acks start, and where chain-mode reads go.
    pub fn tail(&self) -> NodeId {
        *self.chain.last().expect("a chain has at least one member")
    }

    /// Is `node` in the chain (joining or not)?
    pub fn contains(&self, node: NodeId) -> bool {
        self.chain.contains(&node)
    }

    /// `node`'s place in the chain.
    fn position(&self, node: NodeId) -> Option<usize> {
        self.chain.iter().position(|&n| n == node)
    }

    /// The member before `node` (None for the head or a non-member).
    pub fn predecessor(&self, node: NodeId) -> Option<NodeId> {
        let k = self.position(node)?;
        k.checked_sub(1).map(|p| self.chain[p])
    }

    /// The member after `node` (None for the tail or a non-member).
    pub fn successor(&self, node: NodeId) -> Option<NodeId> {
        let k = self.position(node)?;
        self.chain.get(k + 1).copied()
    }

    /// Is `node` the joining tail?
    pub fn is_joining(&self, node: NodeId) -> bool {
        self.joining == Some(node)
    }
}

impl fmt::Display for Configuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chain: Vec<String> = self.chain.iter().map(|n| n.to_string()).collect();
        write!(f, "epoch={} chain=[{}]", self.epoch, chain.join(","))?;
        if let Some(j) = self.joining {
            write!(f, " joining={j}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(ids: &[u64]) -> Vec<NodeId> {
        ids.iter().copied().map(NodeId).collect()
    }

    #[test]
    fn neighbours_follow_the_chain_order() {
        let c = Configuration::new(2, chain(&[1, 3, 4]), Some(NodeId(4)));
        assert_eq!((c.head(), c.tail()), (NodeId(1), NodeId(4)));
        assert_eq!(c.predecessor(NodeId(3)), Some(NodeId(1)));
        assert_eq!(c.successor(NodeId(3)), Some(NodeId(4)));
        assert_eq!(c.predecessor(NodeId(1)), None);
        assert_eq!(c.successor(NodeId(4)), None);
        assert_eq!(c.successor(NodeId(2)), None, "n2 is not a member");
        assert_eq!(c.to_string(), "epoch=2 chain=[n1,n3,n4] joining=n4");
    }

    #[test]
    #[should_panic(expected = "must be the tail")]
    fn a_joining_node_anywhere_but_the_tail_is_a_bug() {
        Configuration::new(2, chain(&[1, 3, 4]), Some(NodeId(3)));
    }

    #[test]
    #[should_panic(expected = "twice in the chain")]
    fn a_node_twice_in_a_chain_is_a_bug() {
        Configuration::new(2, chain(&[1, 3, 1]), None);
    }
}
