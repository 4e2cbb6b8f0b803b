//! The deployment-wide append-only Merkle log (RFC 6962 / RFC 9162 §2.1).
//!
//! Every event hash enters the log as one leaf whose data is the 32 raw bytes
//! of the hash. A store keeps only the hashes of *complete, aligned*
//! subtrees ([`Subtree`]); those never change once written, so the store is
//! append-only too. Everything else (roots of any past size, inclusion and
//! consistency proofs) is derived from them here.
//!
//! Why this works: in the RFC 6962 recursion `MTH(D[a:b])` splits at `k`, the
//! largest power of two below `b - a`. Starting from `a = 0`, every left part
//! `D[a:a+k]` is a complete subtree aligned to `k`, and every right part
//! starts at a multiple of the next split, so every range the recursion ever
//! visits decomposes into complete aligned subtrees.

use serde::{Deserialize, Serialize};

use crate::hash::{sha256, Hash};

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    sha256(&[&[0x00], data])
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[0x01], &left.0, &right.0])
}

/// The root of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Hash {
    sha256(&[])
}

/// A complete subtree aligned to its own size: leaves
/// `[index * 2^level, (index + 1) * 2^level)`. Level 0 nodes are leaf hashes.
///
/// Ordered by `(level, index)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Subtree {
    /// Height above the leaves; the subtree spans `2^level` leaves.
    pub level: u32,
    /// Position among the subtrees of the same level, counted from 0.
    pub index: u64,
}

impl Subtree {
    /// The level-0 subtree holding leaf `index`.
    pub fn leaf(index: u64) -> Self {
        Subtree { level: 0, index }
    }

    /// Index of the first leaf covered.
    ///
    /// Only meaningful for subtrees that fit in a tree of at most `u64::MAX`
    /// leaves, which is every subtree this module produces.
    pub fn first_leaf(&self) -> u64 {
        self.index << self.level
    }

    /// One past the index of the last leaf covered.
    pub fn end_leaf(&self) -> u64 {
        (self.index + 1) << self.level
    }

    /// The enclosing subtree one level up.
    pub fn parent(&self) -> Subtree {
        Subtree {
            level: self.level + 1,
            index: self.index >> 1,
        }
    }
}

/// Inputs that describe no proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TreeRangeError {
    /// The leaf is not in the tree.
    #[error("leaf index {leaf_index} is not in a tree of size {size}")]
    LeafIndexOutOfRange {
        /// Requested leaf.
        leaf_index: u64,
        /// Tree size.
        size: u64,
    },
    /// A tree cannot be consistent with a larger one it would have to contain.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    OldSizeExceedsNew {
        /// Older size.
        old_size: u64,
        /// Newer size.
        new_size: u64,
    },
}

/// Why [`Frontier::from_nodes`] refused its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrontierError {
    /// The node count must equal the number of set bits of the size.
    #[error("a frontier of tree size {size} has {expected} nodes, got {got}")]
    WrongNodeCount {
        /// Tree size.
        size: u64,
        /// `size.count_ones()`.
        expected: usize,
        /// Nodes supplied.
        got: usize,
    },
}

/// Why a proof did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// See [`TreeRangeError`].
    #[error(transparent)]
    Range(#[from] TreeRangeError),
    /// More hashes than the tree shape calls for.
    #[error("proof has more hashes than the tree sizes call for")]
    ProofTooLong,
    /// Fewer hashes than the tree shape calls for.
    #[error("proof has fewer hashes than the tree sizes call for")]
    ProofTooShort,
    /// The inclusion proof leads to a different root.
    #[error("inclusion proof does not lead to the expected root")]
    RootMismatch,
    /// The consistency proof does not reproduce the old root.
    #[error("consistency proof does not reproduce the old root")]
    OldRootMismatch,
    /// The consistency proof does not reproduce the new root.
    #[error("consistency proof does not reproduce the new root")]
    NewRootMismatch,
}

/// Largest power of two strictly below `n`; `n >= 2`.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The complete aligned subtrees of `size`'s binary decomposition, left to
/// right (largest first). Their hashes are what a [`Frontier`] holds.
pub fn frontier_subtrees(size: u64) -> Vec<Subtree> {
    let mut out = Vec::with_capacity(size.count_ones() as usize);
    let mut start = 0u64;
    for level in (0..64u32).rev() {
        if size & (1 << level) != 0 {
            out.push(Subtree {
                level,
                index: start >> level,
            });
            start += 1 << level;
        }
    }
    out
}

/// The in-memory appender of the single writer: the hashes of
/// [`frontier_subtrees`]`(size)`, enough to append and to compute the root.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn empty() -> Self {
        Frontier::default()
    }

    /// Rebuilds a frontier from the stored hashes of
    /// [`frontier_subtrees`]`(size)`, in that order.
    pub fn from_nodes(size: u64, nodes: Vec<Hash>) -> Result<Self, FrontierError> {
        let expected = size.count_ones() as usize;
        if nodes.len() != expected {
            return Err(FrontierError::WrongNodeCount {
                size,
                expected,
                got: nodes.len(),
            });
        }
        Ok(Frontier { size, nodes })
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The hashes of [`frontier_subtrees`]`(self.size())`.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// The RFC 6962 root of the current tree.
    pub fn root(&self) -> Hash {
        // MTH splits off the largest complete subtree on the left and
        // recurses on the rest, so the root folds the frontier from the right.
        let mut iter = self.nodes.iter().rev();
        match iter.next() {
            None => empty_root(),
            Some(last) => iter.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }

    /// Appends one leaf (already hashed with [`leaf_hash`]) and returns every
    /// subtree this completes, lowest first: always the new level-0 node,
    /// then each parent that became complete. The caller persists them.
    ///
    /// # Panics
    ///
    /// If the tree already holds `u64::MAX` leaves.
    pub fn append(&mut self, leaf_hash: Hash) -> Vec<(Subtree, Hash)> {
        let new_size = self.size.checked_add(1).expect("Merkle log is full");
        let mut node = Subtree::leaf(self.size);
        let mut hash = leaf_hash;
        let mut completed = vec![(node, hash)];
        // An odd index is a right child; its left sibling is complete and is
        // the last frontier node, so the pair merges into a complete parent.
        while node.index & 1 == 1 {
            let left = self
                .nodes
                .pop()
                .expect("frontier holds the left sibling of every right child");
            hash = node_hash(&left, &hash);
            node = node.parent();
            completed.push((node, hash));
        }
        self.nodes.push(hash);
        self.size = new_size;
        completed
    }
}

/// Appends to `out` the complete aligned subtrees whose hashes make up the
/// RFC 6962 hash of the range `[a, b)`, left to right.
fn range_subtrees(a: u64, b: u64, out: &mut Vec<Subtree>) {
    let n = b - a;
    if n.is_power_of_two() && a.is_multiple_of(n) {
        let level = n.trailing_zeros();
        out.push(Subtree {
            level,
            index: a >> level,
        });
    } else {
        let k = split(n);
        range_subtrees(a, a + k, out);
        range_subtrees(a + k, b, out);
    }
}

/// `MTH(D[a:b])` for a non-empty range visited by the RFC 6962 recursion.
fn range_hash<E>(
    a: u64,
    b: u64,
    lookup: &mut impl FnMut(Subtree) -> Result<Hash, E>,
) -> Result<Hash, E> {
    let n = b - a;
    if n.is_power_of_two() && a.is_multiple_of(n) {
        let level = n.trailing_zeros();
        lookup(Subtree {
            level,
            index: a >> level,
        })
    } else {
        let k = split(n);
        let left = range_hash(a, a + k, lookup)?;
        let right = range_hash(a + k, b, lookup)?;
        Ok(node_hash(&left, &right))
    }
}

/// RFC 6962 `PATH(m, D[a:b])` as leaf ranges, deepest first.
fn inclusion_ranges(m: u64, a: u64, b: u64, out: &mut Vec<(u64, u64)>) {
    let n = b - a;
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < a + k {
        inclusion_ranges(m, a, a + k, out);
        out.push((a + k, b));
    } else {
        inclusion_ranges(m, a + k, b, out);
        out.push((a, a + k));
    }
}

/// RFC 6962 `SUBPROOF(m, D[a:b], whole)` as leaf ranges, with `m` absolute.
fn consistency_ranges(m: u64, a: u64, b: u64, whole: bool, out: &mut Vec<(u64, u64)>) {
    if m == b {
        if !whole {
            out.push((a, b));
        }
        return;
    }
    let k = split(b - a);
    if m <= a + k {
        consistency_ranges(m, a, a + k, whole, out);
        out.push((a + k, b));
    } else {
        consistency_ranges(m, a + k, b, false, out);
        out.push((a, a + k));
    }
}

fn checked_inclusion_ranges(leaf_index: u64, size: u64) -> Result<Vec<(u64, u64)>, TreeRangeError> {
    if leaf_index >= size {
        return Err(TreeRangeError::LeafIndexOutOfRange { leaf_index, size });
    }
    let mut ranges = Vec::new();
    inclusion_ranges(leaf_index, 0, size, &mut ranges);
    Ok(ranges)
}

fn checked_consistency_ranges(
    old_size: u64,
    new_size: u64,
) -> Result<Vec<(u64, u64)>, TreeRangeError> {
    if old_size > new_size {
        return Err(TreeRangeError::OldSizeExceedsNew { old_size, new_size });
    }
    let mut ranges = Vec::new();
    // Every tree extends the empty one, and a tree extends itself, so both
    // need no proof (RFC 6962 defines PROOF only for 0 < m < n).
    if old_size > 0 && old_size < new_size {
        consistency_ranges(old_size, 0, new_size, true, &mut ranges);
    }
    Ok(ranges)
}

fn subtrees_of(ranges: &[(u64, u64)]) -> Vec<Subtree> {
    let mut out = Vec::new();
    for &(a, b) in ranges {
        range_subtrees(a, b, &mut out);
    }
    out
}

/// Subtrees needed by [`root_at`]`(size)`; identical to
/// [`frontier_subtrees`], and empty for the empty tree.
pub fn root_subtrees(size: u64) -> Vec<Subtree> {
    frontier_subtrees(size)
}

/// Subtrees needed by [`inclusion_proof`], in the order it looks them up.
/// No subtree appears twice, and all are complete in a tree of `size`.
pub fn inclusion_proof_subtrees(
    leaf_index: u64,
    size: u64,
) -> Result<Vec<Subtree>, TreeRangeError> {
    Ok(subtrees_of(&checked_inclusion_ranges(leaf_index, size)?))
}

/// Subtrees needed by [`consistency_proof`], in the order it looks them up.
/// No subtree appears twice, and all are complete in a tree of `new_size`.
pub fn consistency_proof_subtrees(
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Subtree>, TreeRangeError> {
    Ok(subtrees_of(&checked_consistency_ranges(
        old_size, new_size,
    )?))
}

/// The root of the tree at `size`, from stored subtree hashes.
pub fn root_at<E>(
    size: u64,
    mut lookup: impl FnMut(Subtree) -> Result<Hash, E>,
) -> Result<Hash, E> {
    if size == 0 {
        return Ok(empty_root());
    }
    range_hash(0, size, &mut lookup)
}

/// RFC 6962 `PATH(leaf_index, D[size])`, from stored subtree hashes.
///
/// `E: From<TreeRangeError>` lets an out-of-range request surface through
/// the caller's own error type next to its lookup failures.
pub fn inclusion_proof<E: From<TreeRangeError>>(
    leaf_index: u64,
    size: u64,
    mut lookup: impl FnMut(Subtree) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E> {
    checked_inclusion_ranges(leaf_index, size)?
        .into_iter()
        .map(|(a, b)| range_hash(a, b, &mut lookup))
        .collect()
}

/// RFC 6962 `PROOF(old_size, D[new_size])`, from stored subtree hashes;
/// empty when `old_size` is 0 or equals `new_size`.
pub fn consistency_proof<E: From<TreeRangeError>>(
    old_size: u64,
    new_size: u64,
    mut lookup: impl FnMut(Subtree) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E> {
    checked_consistency_ranges(old_size, new_size)?
        .into_iter()
        .map(|(a, b)| range_hash(a, b, &mut lookup))
        .collect()
}

/// RFC 9162 §2.1.3.2: checks that `leaf_hash` is leaf `leaf_index` of the
/// tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    leaf_index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if leaf_index >= size {
        return Err(TreeRangeError::LeafIndexOutOfRange { leaf_index, size }.into());
    }
    let (mut fnode, mut snode) = (leaf_index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::ProofTooLong);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2: checks that the tree of `new_size` leaves with root
/// `new_root` extends the tree of `old_size` leaves with root `old_root`.
///
/// Equal sizes need an empty proof and equal roots; an `old_size` of 0 needs
/// an empty proof and `old_root` equal to [`empty_root`].
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(TreeRangeError::OldSizeExceedsNew { old_size, new_size }.into());
    }
    if old_size == new_size || old_size == 0 {
        if !proof.is_empty() {
            return Err(ProofError::ProofTooLong);
        }
        if old_size == 0 && *old_root != empty_root() {
            return Err(ProofError::OldRootMismatch);
        }
        if old_size == new_size && old_root != new_root {
            return Err(ProofError::NewRootMismatch);
        }
        return Ok(());
    }
    let (first, rest) = if old_size.is_power_of_two() {
        // The old tree is itself a complete subtree of the new one, so the
        // proof omits its hash: the verifier already has it.
        (*old_root, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest),
            None => return Err(ProofError::ProofTooShort),
        }
    };
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (first, first);
    for c in rest {
        if snode == 0 {
            return Err(ProofError::ProofTooLong);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::NewRootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Straight RFC 6962 §2.1 over a slice of leaf hashes.
    mod reference {
        use super::*;

        fn k_of(n: usize) -> usize {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            k
        }

        pub fn mth(d: &[Hash]) -> Hash {
            match d.len() {
                0 => sha256(&[]),
                1 => d[0],
                n => {
                    let k = k_of(n);
                    node_hash(&mth(&d[..k]), &mth(&d[k..]))
                }
            }
        }

        pub fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
            let n = d.len();
            if n <= 1 {
                return Vec::new();
            }
            let k = k_of(n);
            if m < k {
                let mut p = path(m, &d[..k]);
                p.push(mth(&d[k..]));
                p
            } else {
                let mut p = path(m - k, &d[k..]);
                p.push(mth(&d[..k]));
                p
            }
        }

        fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
            let n = d.len();
            if m == n {
                return if b { Vec::new() } else { vec![mth(d)] };
            }
            let k = k_of(n);
            if m <= k {
                let mut p = subproof(m, &d[..k], b);
                p.push(mth(&d[k..]));
                p
            } else {
                let mut p = subproof(m - k, &d[k..], false);
                p.push(mth(&d[..k]));
                p
            }
        }

        pub fn proof(m: usize, d: &[Hash]) -> Vec<Hash> {
            subproof(m, d, true)
        }
    }

    #[derive(Debug, PartialEq)]
    enum StoreError {
        Missing(Subtree),
        Range(TreeRangeError),
    }

    impl From<TreeRangeError> for StoreError {
        fn from(e: TreeRangeError) -> Self {
            StoreError::Range(e)
        }
    }

    type Store = BTreeMap<Subtree, Hash>;

    fn from_store(store: &Store) -> impl FnMut(Subtree) -> Result<Hash, StoreError> + '_ {
        |s| store.get(&s).copied().ok_or(StoreError::Missing(s))
    }

    /// Only the listed subtrees, to prove the `*_subtrees` lists suffice.
    fn restricted(store: &Store, wanted: &[Subtree]) -> Store {
        wanted.iter().map(|s| (*s, store[s])).collect()
    }

    struct Log {
        leaves: Vec<Hash>,
        store: Store,
        /// `roots[i]` = frontier root after `i` appends.
        roots: Vec<Hash>,
        frontier: Frontier,
    }

    fn build(n: u64, seed: u64) -> Log {
        let mut log = Log {
            leaves: Vec::new(),
            store: Store::new(),
            roots: vec![Frontier::empty().root()],
            frontier: Frontier::empty(),
        };
        for i in 0..n {
            let event = sha256(&[&seed.to_be_bytes(), &i.to_be_bytes()]);
            let leaf = leaf_hash(&event.0);
            log.leaves.push(leaf);
            let completed = log.frontier.append(leaf);
            assert_eq!(completed[0], (Subtree::leaf(i), leaf));
            for (subtree, hash) in completed {
                assert!(
                    log.store.insert(subtree, hash).is_none(),
                    "{subtree:?} twice"
                );
            }
            log.roots.push(log.frontier.root());
        }
        log
    }

    fn h(s: &str) -> Hash {
        s.parse().unwrap()
    }

    /// Every check against the reference for one (size, leaf, old size).
    fn check_all(log: &Log, m: u64, old: u64) {
        let n = log.frontier.size();
        let d = &log.leaves;
        let root = reference::mth(d);
        assert_eq!(log.frontier.root(), root);
        assert_eq!(root_at(n, from_store(&log.store)), Ok(root));

        let want = reference::path(m as usize, d);
        let got = inclusion_proof(m, n, from_store(&log.store)).unwrap();
        assert_eq!(got, want, "PATH({m}, D[{n}])");
        let needed = inclusion_proof_subtrees(m, n).unwrap();
        let only = restricted(&log.store, &needed);
        assert_eq!(inclusion_proof(m, n, from_store(&only)), Ok(want.clone()));
        let leaf = &d[m as usize];
        assert_eq!(verify_inclusion(leaf, m, n, &got, &root), Ok(()));
        for i in 0..got.len() {
            let mut bad = got.clone();
            bad[i].0[i % 32] ^= 1;
            assert!(verify_inclusion(leaf, m, n, &bad, &root).is_err());
        }
        let mut longer = got.clone();
        longer.push(root);
        assert!(verify_inclusion(leaf, m, n, &longer, &root).is_err());
        if !got.is_empty() {
            assert!(verify_inclusion(leaf, m, n, &got[1..], &root).is_err());
            assert!(verify_inclusion(leaf, m, n, &got[..got.len() - 1], &root).is_err());
        }
        for other in [m ^ 1, m + 1, m.wrapping_sub(1), n] {
            if other != m {
                assert!(verify_inclusion(leaf, other, n, &got, &root).is_err());
            }
        }
        assert!(verify_inclusion(&empty_root(), m, n, &got, &root).is_err());
        assert!(verify_inclusion(leaf, m, n, &got, &empty_root()).is_err());
        assert!(verify_inclusion(leaf, m, n * 2, &got, &root).is_err());

        let old_root = reference::mth(&d[..old as usize]);
        assert_eq!(log.roots[old as usize], old_root);
        assert_eq!(root_at(old, from_store(&log.store)), Ok(old_root));
        let want = if old == n || old == 0 {
            Vec::new()
        } else {
            reference::proof(old as usize, d)
        };
        let got = consistency_proof(old, n, from_store(&log.store)).unwrap();
        assert_eq!(got, want, "PROOF({old}, D[{n}])");
        let needed = consistency_proof_subtrees(old, n).unwrap();
        let only = restricted(&log.store, &needed);
        assert_eq!(consistency_proof(old, n, from_store(&only)), Ok(want));
        assert_eq!(verify_consistency(old, n, &old_root, &root, &got), Ok(()));
        for i in 0..got.len() {
            let mut bad = got.clone();
            bad[i].0[31 - i % 32] ^= 0x80;
            assert!(verify_consistency(old, n, &old_root, &root, &bad).is_err());
        }
        let mut longer = got.clone();
        longer.push(old_root);
        assert!(verify_consistency(old, n, &old_root, &root, &longer).is_err());
        if !got.is_empty() {
            assert!(verify_consistency(old, n, &old_root, &root, &got[1..]).is_err());
            assert!(verify_consistency(old, n, &old_root, &root, &[]).is_err());
        }
        if old != n {
            assert!(verify_consistency(old, n, &root, &root, &got).is_err());
            assert!(verify_consistency(old + 1, n, &old_root, &root, &got).is_err());
            assert!(verify_consistency(n, old, &root, &old_root, &got).is_err());
            if old != 0 {
                // Size 0 is consistent with every root, so only here can a
                // wrong new root be caught.
                assert!(verify_consistency(old, n, &old_root, &old_root, &got).is_err());
            }
        }
    }

    #[test]
    fn exhaustive_small_trees() {
        for n in 1..=32u64 {
            let log = build(n, n);
            // Every stored node is the MTH of the leaves it covers, and the
            // store holds exactly the complete aligned subtrees.
            for (s, hash) in &log.store {
                let range = s.first_leaf() as usize..s.end_leaf() as usize;
                assert_eq!(*hash, reference::mth(&log.leaves[range]));
            }
            assert_eq!(log.store.len() as u64, 2 * n - u64::from(n.count_ones()));
            for size in 0..=n {
                assert_eq!(
                    log.roots[size as usize],
                    reference::mth(&log.leaves[..size as usize])
                );
                assert_eq!(
                    root_at(size, from_store(&log.store)),
                    Ok(log.roots[size as usize])
                );
                let rs = root_subtrees(size);
                let only = restricted(&log.store, &rs);
                assert_eq!(
                    root_at(size, from_store(&only)),
                    Ok(log.roots[size as usize])
                );
            }
            for m in 0..n {
                for old in 0..=n {
                    check_all(&log, m, old);
                }
            }
        }
    }

    #[test]
    fn known_vectors() {
        assert_eq!(
            empty_root(),
            h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(Frontier::empty().root(), empty_root());
        assert_eq!(root_at(0, |_| Err::<Hash, ()>(())), Ok(empty_root()));

        // The certificate-transparency / Trillian test vectors.
        let data: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let mut frontier = Frontier::empty();
        let mut store = Store::new();
        for (d, want) in data.iter().zip(roots) {
            store.extend(frontier.append(leaf_hash(d)));
            assert_eq!(frontier.root(), h(want));
        }
        let lookup = || from_store(&store);
        assert_eq!(
            inclusion_proof(0, 8, lookup()).unwrap(),
            [
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ]
        );
        assert_eq!(
            inclusion_proof(5, 8, lookup()).unwrap(),
            [
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ]
        );
        assert_eq!(
            inclusion_proof(2, 3, lookup()).unwrap(),
            [h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"
            )]
        );
        assert_eq!(
            inclusion_proof(1, 5, lookup()).unwrap(),
            [
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ]
        );
        assert_eq!(
            consistency_proof(1, 8, lookup()).unwrap(),
            inclusion_proof(0, 8, lookup()).unwrap()
        );
        assert_eq!(
            consistency_proof(6, 8, lookup()).unwrap(),
            [
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ]
        );
        assert_eq!(
            consistency_proof(2, 5, lookup()).unwrap(),
            [
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ]
        );
        let proof = consistency_proof(6, 8, lookup()).unwrap();
        assert_eq!(
            verify_consistency(6, 8, &h(roots[5]), &h(roots[7]), &proof),
            Ok(())
        );
    }

    #[test]
    fn subtree_layout() {
        assert_eq!(frontier_subtrees(0), []);
        assert_eq!(
            frontier_subtrees(13),
            [
                Subtree { level: 3, index: 0 },
                Subtree { level: 2, index: 2 },
                Subtree {
                    level: 0,
                    index: 12
                },
            ]
        );
        let s = Subtree { level: 2, index: 3 };
        assert_eq!((s.first_leaf(), s.end_leaf()), (12, 16));
        assert_eq!(s.parent(), Subtree { level: 3, index: 1 });
        let top = frontier_subtrees(u64::MAX);
        assert_eq!(top.len(), 64);
        assert_eq!(top[63], Subtree::leaf(u64::MAX - 1));
        // Deep trees need no more lookups than their height.
        let needed = inclusion_proof_subtrees(u64::MAX - 1, u64::MAX).unwrap();
        assert_eq!(needed.len(), 63);
        assert_eq!(
            consistency_proof_subtrees(1 << 40, (1 << 41) + 3)
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn bad_ranges() {
        let store = Store::new();
        assert_eq!(
            inclusion_proof(3, 3, from_store(&store)),
            Err(StoreError::Range(TreeRangeError::LeafIndexOutOfRange {
                leaf_index: 3,
                size: 3
            }))
        );
        assert_eq!(
            consistency_proof_subtrees(4, 3),
            Err(TreeRangeError::OldSizeExceedsNew {
                old_size: 4,
                new_size: 3
            })
        );
        assert_eq!(
            inclusion_proof(0, 3, from_store(&store)),
            Err(StoreError::Missing(Subtree::leaf(1)))
        );
        let r = empty_root();
        assert_eq!(
            verify_inclusion(&r, 0, 0, &[], &r),
            Err(ProofError::Range(TreeRangeError::LeafIndexOutOfRange {
                leaf_index: 0,
                size: 0
            }))
        );
        assert_eq!(verify_consistency(0, 0, &r, &r, &[]), Ok(()));
        assert_eq!(verify_consistency(0, 5, &r, &Hash::ZERO, &[]), Ok(()));
        assert!(verify_consistency(0, 5, &Hash::ZERO, &r, &[]).is_err());
        assert!(verify_consistency(0, 0, &r, &Hash::ZERO, &[]).is_err());
        assert!(verify_consistency(3, 3, &r, &r, &[r]).is_err());
        assert!(verify_consistency(4, 3, &r, &r, &[]).is_err());
        assert_eq!(
            Frontier::from_nodes(3, vec![r]),
            Err(FrontierError::WrongNodeCount {
                size: 3,
                expected: 2,
                got: 1
            })
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn matches_reference(
            n in 1u64..300,
            seed in any::<u64>(),
            m in any::<u64>(),
            old in any::<u64>(),
            restart in any::<u64>(),
        ) {
            let log = build(n, seed);
            check_all(&log, m % n, old % (n + 1));

            // Every past root is reachable from the store.
            for size in 0..=n {
                prop_assert_eq!(root_at(size, from_store(&log.store)), Ok(log.roots[size as usize]));
            }

            // A writer restarted from stored nodes continues identically.
            let k = restart % (n + 1);
            let nodes = frontier_subtrees(k).iter().map(|s| log.store[s]).collect();
            let mut again = Frontier::from_nodes(k, nodes).unwrap();
            prop_assert_eq!(again.root(), log.roots[k as usize]);
            for leaf in &log.leaves[k as usize..] {
                again.append(*leaf);
            }
            prop_assert_eq!(&again, &log.frontier);
        }
    }
}
