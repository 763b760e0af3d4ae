/* The floor of a lock-step push-pull round (issue 14): the least work any simulator of one
 * update over n nodes with uniform random partners must do per round, written as the tightest
 * C loop we know. Every node draws one partner (xorshift64*, Lemire's multiply-shift to a
 * range), and the pair's bits in the current round's bitset are ORed into the next round's.
 * No metrics, no loss, no churn, no output: what gossip-sim does on top of this is its cost.
 *
 *   gcc -O3 -o floor benches/floor.c && ./floor NODES ROUNDS
 *
 * Prints the nodes that hold the update at the end (so the work cannot be optimised away) and
 * the seconds the rounds took; scripts/bench.sh times the whole process, as it does gossip-sim.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t state = 0x9e3779b97f4a7c15ull;

static inline uint64_t next_random(void) {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1dull;
}

static inline uint32_t below(uint32_t n) {
    return (uint32_t)(((next_random() >> 32) * (uint64_t)n) >> 32);
}

static inline int get(const uint64_t *set, uint32_t i) { return (set[i >> 6] >> (i & 63)) & 1; }

static inline void put(uint64_t *set, uint32_t i) { set[i >> 6] |= 1ull << (i & 63); }

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: floor NODES ROUNDS\n");
        return 2;
    }
    uint32_t n = (uint32_t)strtoul(argv[1], NULL, 10);
    int rounds = atoi(argv[2]);
    if (n < 2 || rounds < 1) {
        fprintf(stderr, "floor: NODES must be at least 2 and ROUNDS at least 1\n");
        return 2;
    }
    size_t words = ((size_t)n + 63) / 64;
    uint64_t *now = calloc(words, sizeof(uint64_t));
    uint64_t *next = calloc(words, sizeof(uint64_t));
    if (!now || !next) {
        fprintf(stderr, "floor: out of memory\n");
        return 1;
    }
    put(now, 0);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int r = 0; r < rounds; r++) {
        memcpy(next, now, words * sizeof(uint64_t));
        for (uint32_t i = 0; i < n; i++) {
            uint32_t j = below(n - 1);
            j += j >= i; /* a partner other than itself */
            if (get(now, i) | get(now, j)) {
                put(next, i);
                put(next, j);
            }
        }
        uint64_t *t = now;
        now = next;
        next = t;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    uint64_t holders = 0;
    for (size_t w = 0; w < words; w++) holders += (uint64_t)__builtin_popcountll(now[w]);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("%llu %.6f\n", (unsigned long long)holders, seconds);
    return 0;
}
