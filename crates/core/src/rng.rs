//! Seeded, portable randomness.
//!
//! Every random choice in uqforge comes from a [`SeededRng`] (ChaCha with 8 rounds) built from a
//! user-visible `seed: u64`, and results state the seed they used. ChaCha8 is portable: the same
//! seed gives the same numbers on every platform and in every version of `rand_chacha` (unlike
//! `rand::rngs::StdRng`, whose algorithm may change between releases).
//!
//! **Streams.** Work split into parallel chunks or independent replicates takes one
//! [`stream`] each. ChaCha carries a 64-bit stream identifier next to its 64-bit block counter
//! (Bernstein's original layout), so `stream(seed, i)` and `stream(seed, j)`, `i != j`, are
//! different keystreams of the same key: they never overlap, whatever the chunk sizes and
//! the order in which threads run. Results therefore do not depend on the number of threads.
//!
//! ```
//! use rand_core::Rng;
//! use uqforge_core::rng::{rng_from_seed, stream};
//! let mut a = rng_from_seed(42);
//! let mut b = rng_from_seed(42);
//! assert_eq!(a.next_u64(), b.next_u64()); // reproducible
//! let (mut s0, mut s1) = (stream(42, 0), stream(42, 1));
//! assert_ne!(s0.next_u64(), s1.next_u64()); // distinct streams
//! ```

use rand_core::SeedableRng;

/// The one random-number generator type of uqforge.
pub type SeededRng = rand_chacha::ChaCha8Rng;

/// The main generator for `seed` (ChaCha stream 0).
///
/// The `u64` is expanded to ChaCha's 256-bit key by `rand_core`'s documented, portable
/// `seed_from_u64` (a PCG32 sequence).
pub fn rng_from_seed(seed: u64) -> SeededRng {
    SeededRng::seed_from_u64(seed)
}

/// Independent stream number `index` for `seed`, for parallel chunk `index` or replicate `index`.
///
/// Stream `index` uses ChaCha stream identifier `index + 1`, so no stream coincides with
/// [`rng_from_seed`]`(seed)`; `index` must be below `u64::MAX`.
pub fn stream(seed: u64, index: u64) -> SeededRng {
    debug_assert!(
        index < u64::MAX,
        "stream index u64::MAX aliases the main stream"
    );
    let mut rng = rng_from_seed(seed);
    rng.set_stream(index.wrapping_add(1));
    rng
}

/// A uniform draw in $[0, 1)$ with 53 random bits (the usual `(u >> 11) * 2^-53`).
///
/// Core keeps to `rand_core`; method crates use `rand`'s distributions on a [`SeededRng`].
pub fn uniform01(rng: &mut SeededRng) -> f64 {
    use rand_core::Rng;
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal draw by inversion, $\Phi^{-1}(U)$ with $U$ uniform on $(0, 1)$ and
/// `statrs`' inverse CDF (one uniform per draw, so streams stay aligned draw by draw).
pub fn standard_normal(rng: &mut SeededRng) -> f64 {
    use rand_core::Rng;
    use statrs::distribution::{ContinuousCDF, Normal};
    // (k + 0.5) / 2^53 lies strictly inside (0, 1).
    let u = ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64);
    Normal::standard().inverse_cdf(u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_core::Rng;

    #[test]
    fn chacha8_matches_the_published_zero_key_test_vector() {
        // ChaCha8 keystream for an all-zero 256-bit key and all-zero IV (Strombergson,
        // "Test Vectors for the Stream Cipher ChaCha", IETF draft, 2013, TC1). Pins portability.
        let mut rng = SeededRng::from_seed([0u8; 32]);
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "3e00ef2f895f40d67f5bb8e81f09a5a12c840ec3ce9a7f3b181be188ef711a1e"
        );
    }

    #[test]
    fn standard_normal_has_normal_moments_and_tails() {
        let mut rng = rng_from_seed(3);
        let n = 200_000;
        let z: Vec<f64> = (0..n).map(|_| standard_normal(&mut rng)).collect();
        let m = z.iter().sum::<f64>() / n as f64;
        let v = z.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n as f64;
        let k = z.iter().map(|x| (x - m).powi(4)).sum::<f64>() / n as f64 / (v * v);
        // Standard errors: 1/sqrt(n) = 0.0022 for the mean, sqrt(2/n) = 0.0032 for the variance,
        // sqrt(96/n) = 0.022 for the kurtosis (3 for a normal).
        assert!(m.abs() < 0.011 && (v - 1.0).abs() < 0.016 && (k - 3.0).abs() < 0.11);
        // P(Z > 1.959964) = 0.025: 5000 expected, sd 70.
        let tail = z.iter().filter(|&&x| x > 1.959964).count();
        assert!((4650..5350).contains(&tail), "{tail}");
    }

    #[test]
    fn uniform01_has_the_moments_of_a_uniform() {
        let mut rng = rng_from_seed(7);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| uniform01(&mut rng)).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        // se(mean) = sqrt(1/12 / n) = 6.5e-4; 5 se bounds a false alarm at ~6e-7.
        assert!((mean - 0.5).abs() < 5.0 * (1.0 / 12.0 / n as f64).sqrt());
        // se(var) = sqrt((1/80 - 1/144) / n) = 1.7e-4.
        assert!((var - 1.0 / 12.0).abs() < 5.0 * ((1.0 / 80.0 - 1.0 / 144.0) / n as f64).sqrt());
    }

    proptest! {
        #[test]
        fn streams_are_reproducible(seed: u64, index in 0u64..u64::MAX) {
            let a: Vec<u64> = { let mut r = stream(seed, index); (0..4).map(|_| r.next_u64()).collect() };
            let b: Vec<u64> = { let mut r = stream(seed, index); (0..4).map(|_| r.next_u64()).collect() };
            prop_assert_eq!(a, b);
        }

        #[test]
        fn streams_are_distinct(seed: u64, i in 0u64..1_000_000, j in 0u64..1_000_000) {
            prop_assume!(i != j);
            let mut a = stream(seed, i);
            let mut b = stream(seed, j);
            let mut main = rng_from_seed(seed);
            let (xa, xb, xm) = (
                [a.next_u64(), a.next_u64()],
                [b.next_u64(), b.next_u64()],
                [main.next_u64(), main.next_u64()],
            );
            prop_assert_ne!(xa, xb);
            prop_assert_ne!(xa, xm);
        }

        #[test]
        fn seeds_are_distinct(s in any::<u64>(), t in any::<u64>()) {
            prop_assume!(s != t);
            prop_assert_ne!(rng_from_seed(s).next_u64(), rng_from_seed(t).next_u64());
        }
    }
}
