//! Simulated game logic: a fixed amount of CPU work, for the benchmarks' dial between work
//! done inside the engine's critical section and work done by the caller outside it.

/// Spends `units` steps of dependent arithmetic (about a nanosecond each on this project's
/// machine) that the optimizer cannot remove.
pub fn burn(units: u32) {
    let mut x = 0x9E37_79B9_7F4A_7C15_u64;
    for _ in 0..units {
        x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
    }
    std::hint::black_box(x);
}
