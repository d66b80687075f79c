//! Nodes, groups and inheritance (being written).
