//! Netlink attributes (TLVs): writing them into a message and reading them
//! back from the kernel's answers.
//!
//! An attribute is a 4-byte header (`u16` length including the header, `u16`
//! type) followed by the payload, padded to 4 bytes. Nested attributes are an
//! attribute whose payload is more attributes. Integers are in host order on
//! the wire for netlink itself, but nf_tables wants its numbers big-endian
//! ("be32"/"be64" in the kernel's policies), hence only `put_be*` here.
//!
//! The length field is 16 bits: a nested attribute cannot exceed 64 KiB,
//! which is why element lists are split over several messages of one batch
//! (see `nft::element`).

/// Marks a nested attribute. The kernel's nf_tables parser does not require
/// it, but libnftnl sets it and tools like `nft --debug=netlink` expect it.
const NLA_F_NESTED: u16 = 1 << 15;
const NLA_F_NET_BYTEORDER: u16 = 1 << 14;
const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);
const NLA_HDRLEN: usize = 4;

/// The largest payload an attribute can carry.
pub(crate) const MAX_PAYLOAD: usize = u16::MAX as usize - NLA_HDRLEN;

pub(crate) fn align4(len: usize) -> usize {
    (len + 3) & !3
}

/// An open nested attribute: where its header starts in the buffer.
#[must_use = "a nest must be closed with end_nest"]
pub(crate) struct Nest(usize);

/// Attribute writing on a message buffer.
pub(crate) trait PutAttr {
    fn put_bytes(&mut self, ty: u16, payload: &[u8]);
    fn put_str(&mut self, ty: u16, text: &str);
    fn put_be32(&mut self, ty: u16, value: u32);
    fn put_be64(&mut self, ty: u16, value: u64);
    /// A big-endian u32 flagged NLA_F_NET_BYTEORDER, as ipset requires.
    fn put_net32(&mut self, ty: u16, value: u32) {
        self.put_bytes(ty | NLA_F_NET_BYTEORDER, &value.to_be_bytes());
    }
    fn begin_nest(&mut self, ty: u16) -> Nest;
    fn end_nest(&mut self, nest: Nest);
    /// Payload bytes written so far inside `nest`.
    fn nest_len(&self, nest: &Nest) -> usize;
}

impl PutAttr for Vec<u8> {
    fn put_bytes(&mut self, ty: u16, payload: &[u8]) {
        let len = NLA_HDRLEN + payload.len();
        let len16 = u16::try_from(len).expect("netlink attribute over 64 KiB");
        self.extend_from_slice(&len16.to_ne_bytes());
        self.extend_from_slice(&ty.to_ne_bytes());
        self.extend_from_slice(payload);
        self.resize(self.len() + align4(len) - len, 0);
    }

    /// Strings go with their NUL: the kernel's NLA_STRING policy accepts
    /// both, and `nla_strcmp` compares up to it.
    fn put_str(&mut self, ty: u16, text: &str) {
        let mut payload = Vec::with_capacity(text.len() + 1);
        payload.extend_from_slice(text.as_bytes());
        payload.push(0);
        self.put_bytes(ty, &payload);
    }

    fn put_be32(&mut self, ty: u16, value: u32) {
        self.put_bytes(ty, &value.to_be_bytes());
    }

    fn put_be64(&mut self, ty: u16, value: u64) {
        self.put_bytes(ty, &value.to_be_bytes());
    }

    fn begin_nest(&mut self, ty: u16) -> Nest {
        let start = self.len();
        self.extend_from_slice(&0u16.to_ne_bytes());
        self.extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        Nest(start)
    }

    fn end_nest(&mut self, nest: Nest) {
        let len = self.len() - nest.0;
        // Callers split their lists well below this; reaching it is a bug,
        // and a wrong length would make the kernel misparse the batch.
        let len16 = u16::try_from(len).expect("nested netlink attribute over 64 KiB");
        self[nest.0..nest.0 + 2].copy_from_slice(&len16.to_ne_bytes());
    }

    fn nest_len(&self, nest: &Nest) -> usize {
        self.len() - nest.0 - NLA_HDRLEN
    }
}

/// One attribute read from a kernel answer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Attr<'a> {
    /// The type without the nested / byte-order flags.
    pub ty: u16,
    pub payload: &'a [u8],
}

impl<'a> Attr<'a> {
    pub fn be32(&self) -> Option<u32> {
        Some(u32::from_be_bytes(self.payload.try_into().ok()?))
    }

    pub fn be64(&self) -> Option<u64> {
        Some(u64::from_be_bytes(self.payload.try_into().ok()?))
    }

    pub fn ne32(&self) -> Option<u32> {
        Some(u32::from_ne_bytes(self.payload.try_into().ok()?))
    }

    /// A string attribute without its NUL; `None` if not UTF-8.
    pub fn str(&self) -> Option<&'a str> {
        let bytes = match self.payload.iter().position(|&b| b == 0) {
            Some(nul) => &self.payload[..nul],
            None => self.payload,
        };
        std::str::from_utf8(bytes).ok()
    }

    pub fn nested(&self) -> Attrs<'a> {
        Attrs::new(self.payload)
    }
}

/// Iterates the attributes in a buffer. A malformed attribute ends the
/// iteration: answers come from the kernel, so that means a bug on one
/// side, and callers then report the attribute they did not find.
#[derive(Clone, Debug)]
pub(crate) struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Attrs { rest: data }
    }

    /// The first attribute of type `ty`.
    pub fn get(&self, ty: u16) -> Option<Attr<'a>> {
        self.clone().find(|attr| attr.ty == ty)
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Attr<'a>;

    fn next(&mut self) -> Option<Attr<'a>> {
        if self.rest.len() < NLA_HDRLEN {
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([self.rest[0], self.rest[1]]));
        let ty = u16::from_ne_bytes([self.rest[2], self.rest[3]]) & NLA_TYPE_MASK;
        if len < NLA_HDRLEN || len > self.rest.len() {
            self.rest = &[];
            return None;
        }
        let payload = &self.rest[NLA_HDRLEN..len];
        self.rest = &self.rest[align4(len).min(self.rest.len())..];
        Some(Attr { ty, payload })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_padding_and_nesting() {
        let mut buf = Vec::new();
        buf.put_str(1, "bantam");
        let nest = buf.begin_nest(3);
        buf.put_be32(1, 0x0102_0304);
        buf.put_bytes(2, &[192, 0, 2]);
        buf.put_be64(4, 7);
        buf.end_nest(nest);
        assert_eq!(buf.len() % 4, 0);

        let attrs: Vec<_> = Attrs::new(&buf).collect();
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs[0].str(), Some("bantam"));
        assert_eq!(attrs[1].ty, 3, "nested flag is masked off");
        let inner: Vec<_> = attrs[1].nested().collect();
        assert_eq!(inner[0].be32(), Some(0x0102_0304));
        assert_eq!(inner[1].payload, &[192, 0, 2]);
        assert_eq!(inner[2].be64(), Some(7));
        assert_eq!(Attrs::new(&buf).get(3).unwrap().nested().count(), 3);
    }

    #[test]
    fn truncated_input_stops_iteration() {
        let mut buf = Vec::new();
        buf.put_be32(1, 1);
        buf.put_be32(2, 2);
        let cut = &buf[..buf.len() - 2];
        assert_eq!(Attrs::new(cut).count(), 1);
        assert_eq!(Attrs::new(&[8, 0]).count(), 0);
    }
}
