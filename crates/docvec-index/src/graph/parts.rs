//! The parts the graph is made of: storage that never moves, node records, the distance-ordered
//! candidate, and each thread's search scratch.

use std::cell::RefCell;
use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::{Mutex, OnceLock};

use super::NOT_READY;

/// Slabs double in size: this many cover any count that fits in memory.
const SLABS: usize = 40;

/// Append-only storage of `stride` elements per slot whose slots never move: a first region sized for
/// the graph as built or loaded (no slack; a loaded graph's is mapped from its file), then slabs of
/// `GROWTH << s` slots allocated the first time a slot in them is needed.
pub(super) struct Slabs<T> {
    /// The first region's elements, taken once: a slot lookup costs what a boxed slice's does.
    first_ptr: *const T,
    first_elems: usize,
    /// Owns what `first_ptr` points into.
    _first: Region<T>,
    first_len: usize,
    slabs: [OnceLock<Box<[T]>>; SLABS],
    stride: usize,
    init: fn() -> T,
}

// SAFETY: `first_ptr` only points into `_first`, owned here; shared access hands out `&T` as a
// boxed slice would, so the slabs are as thread-safe as their elements.
unsafe impl<T: Send + Sync> Send for Slabs<T> {}
unsafe impl<T: Send + Sync> Sync for Slabs<T> {}

/// log2 of the first growth slab's slots.
const GROWTH_SHIFT: u32 = 10;

impl<T> Slabs<T> {
    pub(super) fn new(first_len: usize, stride: usize, init: fn() -> T) -> Self {
        let first = Region::Owned((0..first_len * stride).map(|_| init()).collect());
        Self::with_first(first, first_len, stride, init)
    }

    /// Slabs whose first `first_len` slots are `first` (`first_len * stride` elements).
    pub(super) fn with_first(
        first: Region<T>,
        first_len: usize,
        stride: usize,
        init: fn() -> T,
    ) -> Self {
        let elems = first.as_slice();
        assert_eq!(elems.len(), first_len * stride);
        Self {
            first_ptr: elems.as_ptr(),
            first_elems: elems.len(),
            _first: first,
            first_len,
            slabs: std::array::from_fn(|_| OnceLock::new()),
            stride,
            init,
        }
    }

    /// Elements a slot.
    pub(super) fn stride(&self) -> usize {
        self.stride
    }

    #[inline(always)]
    pub(super) fn slot(&self, i: usize) -> &[T] {
        if i < self.first_len {
            // SAFETY: `first_ptr` and `first_elems` describe `_first`'s elements, which never move
            // (a boxed slice or a mapping) and live as long as `self`.
            let first = unsafe { std::slice::from_raw_parts(self.first_ptr, self.first_elems) };
            return &first[i * self.stride..(i + 1) * self.stride];
        }
        let i = i - self.first_len;
        let j = (i >> GROWTH_SHIFT) + 1;
        let s = (usize::BITS - 1 - j.leading_zeros()) as usize;
        let offset = i - (((1 << s) - 1) << GROWTH_SHIFT);
        let slab = self.slabs[s].get_or_init(|| {
            (0..(1usize << (GROWTH_SHIFT as usize + s)) * self.stride)
                .map(|_| (self.init)())
                .collect()
        });
        &slab[offset * self.stride..(offset + 1) * self.stride]
    }
}

/// A graph file mapped copy-on-write (a private mapping: changes made in memory reach neither the file
/// nor other processes, and pages never touched are never read).
pub(crate) struct FileMap {
    /// Taken once from the writable map, so stores through it are allowed.
    base: *mut u8,
    len: usize,
    _map: memmap2::MmapMut,
}

// SAFETY: the map is owned here and freed on drop; what is shared through `base` is reached only as
// `Plain` atomics and bytes that are never written (see `Region::as_slice`).
unsafe impl Send for FileMap {}
unsafe impl Sync for FileMap {}

impl FileMap {
    pub(crate) fn new(mut map: memmap2::MmapMut) -> Self {
        Self {
            base: map.as_mut_ptr(),
            len: map.len(),
            _map: map,
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: the whole map, alive as long as `self`. Callers read the parts nothing writes (a
        // load reads before the graph exists; later only mapped atomics are written, through `Region`).
        unsafe { std::slice::from_raw_parts(self.base, self.len) }
    }
}

/// The first slots of a [`Slabs`]: allocated, or a part of a mapped graph file.
pub(super) enum Region<T> {
    Owned(Box<[T]>),
    Mapped {
        map: std::sync::Arc<FileMap>,
        offset: usize,
        len: usize,
        _of: std::marker::PhantomData<T>,
    },
}

impl<T: Plain> Region<T> {
    /// `len` elements of `map` from byte `offset`; `None` when that is not aligned for `T` or runs past
    /// the map.
    pub(super) fn mapped(map: std::sync::Arc<FileMap>, offset: usize, len: usize) -> Option<Self> {
        let end = len
            .checked_mul(std::mem::size_of::<T>())?
            .checked_add(offset)?;
        let aligned = (map.base as usize + offset).is_multiple_of(std::mem::align_of::<T>());
        (end <= map.len && aligned).then_some(Region::Mapped {
            map,
            offset,
            len,
            _of: std::marker::PhantomData,
        })
    }
}

impl<T> Region<T> {
    #[inline(always)]
    fn as_slice(&self) -> &[T] {
        match self {
            Region::Owned(b) => b,
            // SAFETY: `mapped` checked bounds and alignment, and only `Plain` types (any bit pattern
            // valid, no drop) are mapped. The map is writable, so the atomics' stores are allowed, and
            // it lives as long as this region.
            Region::Mapped {
                map, offset, len, ..
            } => unsafe { std::slice::from_raw_parts(map.base.add(*offset) as *const T, *len) },
        }
    }
}

/// Types that may be read straight from a file's bytes: every bit pattern is a valid value and
/// dropping one does nothing.
///
/// # Safety
/// Only for such types.
pub(super) unsafe trait Plain {}
// SAFETY: both are plain words of any bit pattern.
unsafe impl Plain for AtomicU32 {}
unsafe impl Plain for Line {}

/// One cache line of words: a node's data starts on a line, so a vector (or a quantized vector's
/// codes) touches as few lines as its length allows.
#[repr(C, align(64))]
pub(super) struct Line([AtomicU32; 16]);

impl Line {
    pub(super) const WORDS: usize = 16;

    pub(super) fn zero() -> Self {
        Self(std::array::from_fn(|_| AtomicU32::new(0)))
    }

    /// The words of consecutive lines.
    #[inline(always)]
    pub(super) fn words(lines: &[Line]) -> &[AtomicU32] {
        // SAFETY: `Line` is `repr(C)` over 16 `AtomicU32`s with no padding (64 bytes, aligned to 64).
        unsafe {
            std::slice::from_raw_parts(
                lines.as_ptr() as *const AtomicU32,
                lines.len() * Self::WORDS,
            )
        }
    }
}

/// What a node is, apart from its vector and its layer-0 links.
pub(super) struct Node {
    /// The caller's id; `NOT_READY` until the vector is written.
    pub(super) ext: AtomicU64,
    pub(super) level: AtomicU32,
    /// Links of layers 1..=level, `m + 1` entries each (count, then node numbers).
    pub(super) upper: OnceLock<Box<[AtomicU32]>>,
    /// Held while this node's link lists change.
    pub(super) lock: Mutex<()>,
}

impl Node {
    pub(super) fn empty() -> Self {
        Self {
            ext: AtomicU64::new(NOT_READY),
            level: AtomicU32::new(0),
            upper: OnceLock::new(),
            lock: Mutex::new(()),
        }
    }
}

/// A node and its distance to the query, ordered by distance (then node number, for determinism).
#[derive(Debug, Clone, Copy)]
pub(super) struct Near {
    pub(super) dist: f32,
    pub(super) node: u32,
}

impl PartialEq for Near {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == CmpOrdering::Equal
    }
}
impl Eq for Near {}
impl PartialOrd for Near {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Near {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        // Distances are never negative (clamped at 0) nor NaN: their bits order as the numbers do.
        self.dist
            .to_bits()
            .cmp(&other.dist.to_bits())
            .then(self.node.cmp(&other.node))
    }
}

/// Marks of the nodes one search has seen; reset by bumping the epoch, not by clearing. One byte a
/// node keeps the marks of 40,000 nodes in a core's L1 cache.
#[derive(Default)]
pub(super) struct Visited {
    marks: Vec<u8>,
    epoch: u8,
}

impl Visited {
    pub(super) fn reset(&mut self, nodes: usize) {
        if self.marks.len() < nodes {
            self.marks.resize(nodes, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.marks.fill(0);
            self.epoch = 1;
        }
    }

    /// True the first time `node` is seen in this search.
    #[inline]
    pub(super) fn first_visit(&mut self, node: u32) -> bool {
        let i = node as usize;
        if i >= self.marks.len() {
            // Inserted after this search began.
            self.marks.resize(i + 1024, 0);
        }
        let seen = self.marks[i] == self.epoch;
        self.marks[i] = self.epoch;
        !seen
    }
}

/// Hint the CPU to load the line at `p` (one line: more only fills the line buffers, and the hardware
/// prefetcher follows on from there).
#[inline(always)]
pub(super) fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint on any address and SSE is part of the x86-64 baseline.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: `prfm` is a hint on any address (it never faults) and part of the aarch64 baseline.
    unsafe {
        std::arch::asm!(
            "prfm pldl1keep, [{p}]",
            p = in(reg) p,
            options(nostack, readonly, preserves_flags)
        );
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = p;
}

/// What a search needs besides the graph, kept per thread so searches allocate (almost) nothing.
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) visited: Visited,
    pub(super) results: BinaryHeap<Near>,
    pub(super) cands: BinaryHeap<Reverse<Near>>,
    pub(super) fresh: Vec<u32>,
    pub(super) pool: Pool,
}

/// The best `ef` nodes found so far, nearest first, each marked once expanded: results and candidates
/// in one sorted array (as NSG and DiskANN keep them). For the small lists of a query (ef in the tens)
/// an insertion moves a few entries, cheaper than two heaps' sifts; the array also comes out sorted.
#[derive(Default)]
pub(super) struct Pool {
    entries: Vec<Entry>,
}

/// A pool entry: the node number with `EXPANDED` as its top bit (node numbers stay below 2^31).
#[derive(Clone, Copy)]
struct Entry {
    dist: f32,
    tag: u32,
}

const EXPANDED: u32 = 1 << 31;

impl Pool {
    pub(super) fn reset(&mut self, start: Near) {
        self.entries.clear();
        self.entries.push(Entry {
            dist: start.dist,
            tag: start.node,
        });
    }

    /// Whether a node at `dist` would enter a pool of at most `ef`.
    #[inline(always)]
    pub(super) fn admits(&self, dist: f32, ef: usize) -> bool {
        self.entries.len() < ef || self.entries.last().is_some_and(|w| dist < w.dist)
    }

    /// Insert `n` in order (after equal distances), dropping the worst past `ef`; returns where it
    /// went. The caller checked [`Pool::admits`].
    #[inline(always)]
    pub(super) fn insert(&mut self, n: Near, ef: usize) -> usize {
        let e = &mut self.entries;
        if e.len() < ef {
            e.push(Entry { dist: 0.0, tag: 0 });
        }
        // Shift the worse ones down one by one: a handful of moves, where a memmove call costs more.
        let mut i = e.len() - 1;
        while i > 0 && e[i - 1].dist > n.dist {
            e[i] = e[i - 1];
            i -= 1;
        }
        e[i] = Entry {
            dist: n.dist,
            tag: n.node,
        };
        i
    }

    /// The first node at or after `from` not yet expanded, marked expanded now.
    #[inline(always)]
    pub(super) fn next(&mut self, from: usize) -> Option<(usize, Near)> {
        let i = from
            + self
                .entries
                .get(from..)?
                .iter()
                .position(|e| e.tag & EXPANDED == 0)?;
        let e = &mut self.entries[i];
        e.tag |= EXPANDED;
        Some((
            i,
            Near {
                dist: e.dist,
                node: e.tag & !EXPANDED,
            },
        ))
    }

    /// The node after `at` not yet expanded, if any (to ask for its links early).
    #[inline(always)]
    pub(super) fn peek_after(&self, at: usize) -> Option<u32> {
        self.entries
            .get(at + 1..)?
            .iter()
            .find(|e| e.tag & EXPANDED == 0)
            .map(|e| e.tag)
    }

    pub(super) fn sorted(&self) -> Vec<Near> {
        self.entries
            .iter()
            .map(|e| Near {
                dist: e.dist,
                node: e.tag & !EXPANDED,
            })
            .collect()
    }
}

thread_local! {
    pub(super) static SCRATCH: RefCell<Scratch> = const {
        RefCell::new(Scratch {
            visited: Visited { marks: Vec::new(), epoch: 0 },
            results: BinaryHeap::new(),
            cands: BinaryHeap::new(),
            fresh: Vec::new(),
            pool: Pool { entries: Vec::new() },
        })
    };
}
