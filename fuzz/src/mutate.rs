//! Inputs for the parsers: valid examples (each target's seeds) changed a few bytes or
//! tokens at a time, spliced with each other, or plain random bytes. A small xorshift
//! generator makes every run reproducible from its seed.

/// xorshift64*: fast, reproducible, good enough to pick mutations.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// Tokens that make parsers take unusual paths.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b";",
    b"\t",
    b"\n",
    b"\r\n",
    b"=",
    b"null",
    b"true",
    b"-1",
    b"0",
    b"18446744073709551616",
    b"1e999",
    b"-0.0",
    b"\\u0000",
    b"\\ud800",
    b"\xEF\xBB\xBF",
    b"\xFF",
    b"\xC3",
    b"\xE2\x80\xAE",
    b"\"type\":",
    b"[[",
    b"]]",
    b"#",
    b"'''",
    b"\"\"\"",
    b"://",
    b"@",
    b"%00",
    b"..",
    b"/",
    b"\\",
];

/// One input: mostly a mutated seed, sometimes random bytes.
pub fn input(rng: &mut Rng, seeds: &[&[u8]]) -> Vec<u8> {
    if seeds.is_empty() || rng.below(16) == 0 {
        let len = rng.below(256);
        return (0..len).map(|_| rng.next_u64() as u8).collect();
    }
    let mut data = seeds[rng.below(seeds.len())].to_vec();
    for _ in 0..=rng.below(8) {
        mutate(rng, &mut data, seeds);
    }
    data
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>, seeds: &[&[u8]]) {
    let at = rng.below(data.len() + 1);
    match rng.below(9) {
        0 if !data.is_empty() => {
            let i = rng.below(data.len());
            data[i] ^= 1 << rng.below(8);
        }
        1 if !data.is_empty() => {
            let i = rng.below(data.len());
            data[i] = rng.next_u64() as u8;
        }
        2 => data.insert(at, rng.next_u64() as u8),
        3 if !data.is_empty() => {
            let end = (at + 1 + rng.below(16)).min(data.len());
            let start = at.min(end);
            data.drain(start..end);
        }
        4 if !data.is_empty() => {
            // Repeat a stretch: deep nesting, long strings.
            let start = rng.below(data.len());
            let end = (start + 1 + rng.below(32)).min(data.len());
            let piece = data[start..end].to_vec();
            for _ in 0..=rng.below(64) {
                data.splice(start..start, piece.iter().copied());
            }
        }
        5 => {
            let token = TOKENS[rng.below(TOKENS.len())];
            data.splice(at..at, token.iter().copied());
        }
        6 if !seeds.is_empty() => {
            // Splice the tail of another seed.
            let other = seeds[rng.below(seeds.len())];
            let from = rng.below(other.len() + 1);
            data.truncate(at);
            data.extend_from_slice(&other[from..]);
        }
        7 => data.truncate(at),
        _ => {
            // A digit string changed into a big or negative number.
            let digits: &[u8] = match rng.below(4) {
                0 => b"4294967296",
                1 => b"-9223372036854775809",
                2 => b"65536",
                _ => b"99999999999999999999999",
            };
            data.splice(at..at, digits.iter().copied());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_inputs_and_inputs_vary() {
        let seeds: [&[u8]; 2] = [br#"{"type":"join","name":"Ana"}"#, b"a,b\n1,2\n"];
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..200)
                .map(|_| input(&mut rng, &seeds))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        let inputs = run(7);
        let distinct: std::collections::HashSet<_> = inputs.iter().collect();
        assert!(distinct.len() > 150, "{} distinct of 200", distinct.len());
    }
}
