//! Generators with different (worker, process) pairs never issue the same id,
//! whatever clocks they are fed: the node bits differ, so the ids differ.

use std::collections::HashSet;

use proptest::prelude::*;
use snowflake::Generator;

const NOW_MS: u64 = 1_700_000_000_000;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn distinct_nodes_never_collide(
        nodes in prop::collection::hash_set((0u8..32, 0u8..32), 2..5),
        // (which generator, clock offset, burst length)
        calls in prop::collection::vec((0usize..4, -20i64..20, 1u16..6_000), 1..30),
    ) {
        let nodes: Vec<(u8, u8)> = nodes.into_iter().collect();
        let mut generators: Vec<Generator> =
            nodes.iter().map(|&(worker, process)| Generator::new(worker, process).unwrap()).collect();
        let mut seen = HashSet::new();
        for (which, offset, burst) in calls {
            let index = which % generators.len();
            let now_ms = NOW_MS.checked_add_signed(offset).unwrap();
            for _ in 0..burst {
                let id = generators[index].next(now_ms).unwrap();
                prop_assert_eq!((id.worker(), id.process()), nodes[index]);
                prop_assert!(seen.insert(id), "duplicate {:?}", id);
            }
        }
    }
}
