//! The one way appkit spreads work over threads: contiguous chunks of a slice on scoped threads
//! (at most [`MAX_THREADS`], never more than the machine's parallelism), results in input order;
//! or, for work of uneven cost ([`map_queue`]), a fixed number of threads taking items in turn.
//!
//! Contiguous chunks matter: the environments of one app are neighbours in a validation job list
//! and share one parse of the app's `values.yaml` per thread. Threads get a large stack because
//! values are walked recursively (up to the 256-level nesting limit). A panic in a worker is
//! re-raised on the caller's thread, where the panic hook reports it as an internal error.

/// The most threads any one job list gets.
pub const MAX_THREADS: usize = 8;

/// The stack of a worker thread.
const STACK: usize = 8 << 20;

/// How many threads `items` items are worth, when each thread should get at least `min_chunk`.
fn threads_for(items: usize, min_chunk: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_THREADS)
        .min(items / min_chunk.max(1))
        .max(1)
}

/// `f` over contiguous chunks of `items` (each thread one chunk, one call), concatenated in order.
/// Fewer than `min_chunk` items per thread run on the caller's thread.
pub fn map_chunks<T: Sync, R: Send>(
    items: &[T],
    min_chunk: usize,
    f: impl Fn(&[T]) -> Vec<R> + Sync,
) -> Vec<R> {
    let threads = threads_for(items.len(), min_chunk);
    if threads <= 1 {
        return f(items);
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| {
                std::thread::Builder::new()
                    .stack_size(STACK)
                    .spawn_scoped(s, move || f(c))
            })
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            match h {
                Ok(h) => match h.join() {
                    Ok(part) => out.extend(part),
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                Err(e) => panic!("cannot start a worker thread: {e}"),
            }
        }
        out
    })
}

/// `f` over every item, in order (see [`map_chunks`]).
pub fn map<T: Sync, R: Send>(items: &[T], min_chunk: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    map_chunks(items, min_chunk, |c| c.iter().map(&f).collect())
}

/// `f` over every item on `jobs` threads that each take the next item when done (for work of
/// uneven cost, like one `helm template` per item), results in input order. `jobs` is capped
/// by the item count, at least 1; 1 runs on the caller's thread.
pub fn map_queue<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let jobs = jobs.clamp(1, items.len().max(1));
    if jobs == 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (f, next) = (&f, &next);
    let mut out: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..jobs)
            .map(|_| {
                std::thread::Builder::new()
                    .stack_size(STACK)
                    .spawn_scoped(s, move || {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(item) = items.get(i) else { break };
                            done.push((i, f(item)));
                        }
                        done
                    })
            })
            .collect();
        for h in handles {
            match h {
                Ok(h) => match h.join() {
                    Ok(part) => {
                        for (i, r) in part {
                            out[i] = Some(r);
                        }
                    }
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                Err(e) => panic!("cannot start a worker thread: {e}"),
            }
        }
    });
    out.into_iter()
        .map(|r| r.expect("every item was taken"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_keeps_input_order() {
        let items: Vec<u64> = (0..100).collect();
        let out = map_queue(&items, 4, |i| {
            std::thread::sleep(std::time::Duration::from_micros(100 - i));
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(map_queue(&Vec::<u8>::new(), 3, |i| *i).is_empty());
    }

    #[test]
    fn keeps_input_order_across_chunks() {
        let items: Vec<u32> = (0..1000).collect();
        assert_eq!(
            map(&items, 1, |i| i * 2),
            items.iter().map(|i| i * 2).collect::<Vec<_>>()
        );
        assert_eq!(map(&items[..3], 16, |i| *i), vec![0, 1, 2]);
        assert!(map(&[] as &[u32], 1, |i| *i).is_empty());
    }

    #[test]
    fn a_worker_panic_reaches_the_caller() {
        let items: Vec<u32> = (0..64).collect();
        let r = std::panic::catch_unwind(|| map(&items, 1, |i| assert!(*i != 63)));
        assert!(r.is_err());
    }
}
