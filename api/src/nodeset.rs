//! A set of nodes of one inventory, as a bitset over [`NodeId`]s.
//!
//! Noderange evaluation is a chain of unions, differences and intersections
//! over sets that can hold every node of a 100,000-node cluster. A bitset
//! makes each of those a pass over ~1,600 machine words, and the natural
//! order of the result comes from the inventory's precomputed order instead
//! of sorting strings. Alternatives rejected: `BTreeSet<String>` (allocation
//! and string compares per element), sorted `Vec<u32>` (merges are fine, but
//! membership tests in filters are not).

/// Dense index of a node inside one inventory. Stable while the node exists.
pub type NodeId = u32;

/// A set of [`NodeId`]s.
#[derive(Clone, Default)]
pub struct NodeSet {
    words: Vec<u64>,
}

// Equality is by members: operations may leave trailing zero words behind,
// so the word vectors of equal sets can differ in length.
impl PartialEq for NodeSet {
    fn eq(&self, other: &Self) -> bool {
        let (short, long) = if self.words.len() <= other.words.len() {
            (&self.words, &other.words)
        } else {
            (&other.words, &self.words)
        };
        long[..short.len()] == short[..] && long[short.len()..].iter().all(|&w| w == 0)
    }
}
impl Eq for NodeSet {}

impl std::fmt::Debug for NodeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl NodeSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty set with room for ids below `bound` without reallocating.
    pub fn with_bound(bound: usize) -> Self {
        NodeSet {
            words: Vec::with_capacity(bound.div_ceil(64)),
        }
    }

    pub fn insert(&mut self, id: NodeId) -> bool {
        let (w, bit) = locate(id);
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        let was = self.words[w] & bit != 0;
        self.words[w] |= bit;
        !was
    }

    pub fn remove(&mut self, id: NodeId) -> bool {
        let (w, bit) = locate(id);
        match self.words.get_mut(w) {
            Some(word) => {
                let was = *word & bit != 0;
                *word &= !bit;
                was
            }
            None => false,
        }
    }

    pub fn contains(&self, id: NodeId) -> bool {
        let (w, bit) = locate(id);
        self.words.get(w).is_some_and(|word| word & bit != 0)
    }

    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    pub fn clear(&mut self) {
        self.words.clear();
    }

    /// `self ∪= other`
    pub fn union_with(&mut self, other: &NodeSet) {
        if other.words.len() > self.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    /// `self −= other`
    pub fn difference_with(&mut self, other: &NodeSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= !b;
        }
    }

    /// `self ∩= other`
    pub fn intersect_with(&mut self, other: &NodeSet) {
        let n = other.words.len().min(self.words.len());
        self.words.truncate(n);
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }

    /// `true` when every member of `self` is in `other`.
    pub fn is_subset(&self, other: &NodeSet) -> bool {
        self.words.iter().enumerate().all(|(i, &a)| {
            let b = other.words.get(i).copied().unwrap_or(0);
            a & !b == 0
        })
    }

    /// Members in ascending id order (not natural name order).
    pub fn iter(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &word)| {
            let base = (i as u64) * 64;
            BitIter(word).map(move |b| (base + u64::from(b)) as NodeId)
        })
    }
}

impl FromIterator<NodeId> for NodeSet {
    fn from_iter<T: IntoIterator<Item = NodeId>>(iter: T) -> Self {
        let mut s = NodeSet::new();
        for id in iter {
            s.insert(id);
        }
        s
    }
}

fn locate(id: NodeId) -> (usize, u64) {
    ((id / 64) as usize, 1u64 << (id % 64))
}

struct BitIter(u64);

impl Iterator for BitIter {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        if self.0 == 0 {
            return None;
        }
        let b = self.0.trailing_zeros();
        self.0 &= self.0 - 1;
        Some(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations() {
        let a: NodeSet = [1, 2, 3, 64, 200].into_iter().collect();
        let b: NodeSet = [2, 64, 300].into_iter().collect();
        let mut u = a.clone();
        u.union_with(&b);
        assert_eq!(u.iter().collect::<Vec<_>>(), [1, 2, 3, 64, 200, 300]);
        let mut d = a.clone();
        d.difference_with(&b);
        assert_eq!(d.iter().collect::<Vec<_>>(), [1, 3, 200]);
        let mut i = a.clone();
        i.intersect_with(&b);
        assert_eq!(i.iter().collect::<Vec<_>>(), [2, 64]);
        assert_eq!(i.len(), 2);
        assert!(i.is_subset(&a) && i.is_subset(&b) && !a.is_subset(&b));
        assert!(!NodeSet::new().contains(5));
        let mut e = a.clone();
        e.intersect_with(&NodeSet::new());
        assert!(e.is_empty());
        // Equal members, different word counts.
        let mut shrunk = u.clone();
        shrunk.difference_with(&[300].into_iter().collect());
        assert_eq!(shrunk, [1, 2, 3, 64, 200].into_iter().collect::<NodeSet>());
        assert_ne!(shrunk, u);
        assert_eq!(NodeSet::new(), e);
    }

    #[test]
    fn insert_remove_report_change() {
        let mut s = NodeSet::new();
        assert!(s.insert(7));
        assert!(!s.insert(7));
        assert!(s.remove(7));
        assert!(!s.remove(7));
        assert!(!s.remove(100_000));
        assert!(s.is_empty());
    }
}
