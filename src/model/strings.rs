//! String interning: every name, category and argument key is stored once and
//! referred to by a small id. The Perfetto writer reuses these ids as its
//! interning ids, so a name repeated a million times costs one varint each.

use rustc_hash::FxHashMap;

/// Id of an interned string. Dense, starting at 0, stable for the life of a
/// [`Strings`] table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StrId(pub u32);

impl StrId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An append-only string interner.
#[derive(Default, Debug, Clone)]
pub struct Strings {
    map: FxHashMap<Box<str>, StrId>,
    list: Vec<Box<str>>,
}

impl Strings {
    pub fn new() -> Self {
        Self::default()
    }

    /// Interns `s`, returning the id of the stored copy.
    pub fn intern(&mut self, s: &str) -> StrId {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let id = StrId(u32::try_from(self.list.len()).expect("fewer than 2^32 distinct strings"));
        let owned: Box<str> = s.into();
        self.list.push(owned.clone());
        self.map.insert(owned, id);
        id
    }

    /// Looks `s` up without interning it.
    pub fn get(&self, s: &str) -> Option<StrId> {
        self.map.get(s).copied()
    }

    pub fn resolve(&self, id: StrId) -> &str {
        &self.list[id.index()]
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (StrId, &str)> {
        self.list
            .iter()
            .enumerate()
            .map(|(i, s)| (StrId(i as u32), &**s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_idempotent_and_dense() {
        let mut s = Strings::new();
        let a = s.intern("ctx_queue");
        let b = s.intern("decode");
        assert_eq!(s.intern("ctx_queue"), a);
        assert_eq!((a.0, b.0), (0, 1));
        assert_eq!(s.resolve(b), "decode");
        assert_eq!(s.get("missing"), None);
        assert_eq!(s.len(), 2);
    }
}
