//! Where the engine's big arrays live in memory: cache-line prefetch hints and huge pages.
//! Neither changes a result; both matter at 10^7 nodes, where nearly every random read of a
//! message, a row bit or a hop count misses the caches.
//!
//! Huge pages: at 10^7 nodes the engine reads its arrays (messages in flight, row bits, hop counts, queue
//! buckets) at random, and with 4 KiB pages nearly every such read also misses the TLB: a page
//! walk whose own entries are cache misses. Linux backs a range with 2 MiB pages when asked
//! (`madvise(MADV_HUGEPAGE)`, the default policy of most distributions being "madvise"), which
//! cuts the page walks by a factor of 512. This only places memory: results do not depend on it.
//! Elsewhere, and for arrays under 4 MiB, it does nothing.

/// A huge page: 2 MiB on x86-64 and most arm64 kernels.
const HUGE: usize = 2 << 20;

/// Asks for huge pages under the whole 2 MiB pages of `v`'s buffer. Best done before the
/// buffer is first written: pages already touched keep their size until the kernel merges them.
pub fn advise<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        let bytes = v.capacity() * std::mem::size_of::<T>();
        if bytes < 2 * HUGE {
            return;
        }
        let start = v.as_ptr() as usize;
        let first = start.next_multiple_of(HUGE);
        let end = (start + bytes) / HUGE * HUGE;
        if end > first {
            // SAFETY: the range lies inside `v`'s live allocation; MADV_HUGEPAGE changes how the
            // kernel backs it, never its contents. A refusal (no THP support) is harmless.
            unsafe {
                libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

/// `vec![value; len]`, advised before it is filled.
pub fn filled<T: Clone>(len: usize, value: T) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    advise(&v);
    v.resize(len, value);
    v
}

/// `items` collected into a vector of exactly `len`, advised before it is filled.
pub fn collected<T>(len: usize, items: impl Iterator<Item = T>) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    advise(&v);
    v.extend(items);
    v
}

/// `v.push(item)`. A vector big enough for huge pages grows into a buffer advised before the
/// old contents are copied into it (a reallocation would copy first, faulting the copied half
/// in small pages).
#[inline(always)]
pub fn push<T>(v: &mut Vec<T>, item: T) {
    if v.len() == v.capacity() && 2 * v.capacity() * std::mem::size_of::<T>() >= 2 * HUGE {
        grow(v);
    }
    v.push(item);
}

#[cold]
fn grow<T>(v: &mut Vec<T>) {
    let mut grown = Vec::with_capacity(2 * v.capacity());
    advise(&grown);
    grown.append(v);
    *v = grown;
}

/// Asks the processor to bring the cache line at `address` into the first-level cache: a hint,
/// which never faults whatever the address.
#[inline(always)]
pub fn prefetch<T>(address: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it reads nothing and cannot fault, even out of bounds.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// Makes every allocation of 1 MiB or more a mapping of its own, which [`advise`] can then
/// mark before its first touch. glibc otherwise raises its mapping threshold as big buffers are
/// freed (to 32 MiB), after which buffers of a few MiB come from its arena heaps: already
/// touched, and at addresses huge pages rarely fit (measured with `scripts/thp-check.sh`).
/// Placement only: results never depend on it. Called once, before the first trial.
pub fn map_big_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator's policy; it is called before worker threads
    // start allocating.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
