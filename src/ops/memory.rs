//! Hands freed heap memory back to the system. glibc keeps what a burst freed (the buffers of
//! a thousand upstream connections opened at once and closed again) inside its arenas, so the
//! process's RSS stays at the burst's height for good; nginx, with its own pools, drops back.
//! A check every few seconds trims the heap when a lot of it is free.

use std::time::Duration;

/// Trim when more than this much of the heap is free: below it a trim would gain too little
/// to be worth walking the arenas.
const WORTH_TRIMMING: usize = 4 * 1024 * 1024;

const EVERY: Duration = Duration::from_secs(2);

/// Runs for the life of the process.
pub async fn trim_now_and_then() {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if free_heap_bytes() > WORTH_TRIMMING {
            trim();
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn free_heap_bytes() -> usize {
    // SAFETY: mallinfo2 only reads the allocator's statistics; it takes no pointers.
    let info = unsafe { libc::mallinfo2() };
    info.fordblks
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim releases free pages of glibc's own arenas; no live allocation is
    // touched. Argument 0: keep no extra padding at the top of the heap.
    unsafe {
        libc::malloc_trim(0);
    }
}

// Other allocators (musl's, for one) return memory themselves or offer no such call.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn free_heap_bytes() -> usize {
    0
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    fn resident_anonymous_kib() -> usize {
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("RssAnon:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    #[test]
    fn memory_freed_between_live_allocations_goes_back_to_the_system() {
        // Blocks below the mmap threshold, each followed by a small allocation that stays:
        // freed, they are holes in the arena that glibc cannot give back by itself.
        let mut kept = Vec::new();
        let mut blocks = Vec::new();
        for i in 0..128u8 {
            blocks.push(vec![i; 64 * 1024]);
            kept.push(Box::new(u64::from(i)));
        }
        drop(blocks);
        assert!(free_heap_bytes() > WORTH_TRIMMING, "{}", free_heap_bytes());
        let before = resident_anonymous_kib();
        trim();
        let after = resident_anonymous_kib();
        assert!(
            after + 4 * 1024 < before,
            "RssAnon {before} kB -> {after} kB"
        );
        assert_eq!(kept.len(), 128);
    }
}
