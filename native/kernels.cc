// The native kernels: the same contract as the WASM module (assembly/), every export with the
// same name and arguments, pointers given as byte offsets from the WASM memory's base (attach()),
// so the engine's bindings (src/engine/kernels/bindings.ts) drive both. Tensors past the WASM
// memory's 4 GiB live in regions reserve() maps, at offsets from the same base (which may be
// negative: the map can lie below the WASM memory). Compiled
// from source at install (native/compile.mjs); GEMM dispatches at run time to an AVX-512, an
// AVX2 or a portable build of one blocked kernel.
//
// Why our own GEMM rather than Debian's OpenBLAS: a row of C must come out the same bits
// whatever the other rows (a network predicted alone or in a batch) and whatever part of C a
// thread computes, and OpenBLAS switches kernels by shape (small-matrix paths, gemv for one
// row). Here every element is one FMA chain over k in KC blocks, whatever its tile.
//
// Floating point: compiled with -ffp-contract=off, so an element's value does not depend on
// whether it fell in a vector body or a scalar tail (and so not on how a call was split over
// threads); the GEMM micro-kernels fuse with explicit FMA intrinsics.
#include <node_api.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#define PG_MMAP 1
#endif

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>
#include <algorithm>
#include <numeric>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define PG_X86 1
#endif

#define AI inline __attribute__((always_inline))
// Element-wise loops in an AVX-512, an AVX2 and a baseline build, chosen when the addon loads.
// Without FMA contraction the three give the same bits: only the width differs.
#if defined(PG_X86) && defined(__GNUC__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

typedef uint8_t* Base;
static AI uint8_t* at(Base b, double p) { return reinterpret_cast<uint8_t*>(reinterpret_cast<uintptr_t>(b) + static_cast<uintptr_t>(static_cast<int64_t>(p))); }
static AI float* F(Base b, double p) { return reinterpret_cast<float*>(at(b, p)); }
static AI int32_t* I32(Base b, double p) { return reinterpret_cast<int32_t*>(at(b, p)); }

// ---------------------------------------------------------------------------------------------
// GEMM: C[M,N] = alpha op(A)[M,K] op(B)[K,N] + beta C (beta 0 or 1), row-major, ld* row strides.

static const int KC = 256;
static const int MC_ROWS = 96;
static const int NC_COLS = 2048;

// One MR x NR tile of C from packed panels: acc = sum over p of pa[p] pb[p], in order (one FMA
// chain per element); C = alpha acc, + C when accumulate. mr x nr: the part of the tile inside C.
typedef void (*MicroFn)(int kc, const float* pa, const float* pb, float* C, int ldc, float alpha, bool accumulate, int mr, int nr);
// The same tile with op(A) read in place (row i at step p is A[i sAi + p sAp]) and op(B)
// either packed (sBp = NR) or read in place (sBp = ldb; columns past nr are not read).
typedef void (*MicroDirectFn)(int kc, const float* A, ptrdiff_t sAi, ptrdiff_t sAp, const float* pb, ptrdiff_t sBp, float* C, int ldc, float alpha, bool accumulate, int mr, int nr);

// The tile's corner inside C, from a full tile computed into `tile`.
static AI void storeEdge(const float* tile, int NR, float* C, int ldc, bool accumulate, int mr, int nr) {
  for (int i = 0; i < mr; i++) for (int j = 0; j < nr; j++) {
    float* dst = C + (size_t)i * ldc + j;
    *dst = accumulate ? *dst + tile[i * NR + j] : tile[i * NR + j];
  }
}

#ifdef PG_X86
// AVX-512: 8 rows x 32 columns, 16 accumulators. The accumulators are named arrays that full
// unrolling turns into registers; passing them to a helper by pointer kept them in memory.
#define PG_STORE512(R, V)                                                                                            \
  {                                                                                                                 \
    const __m512 va = _mm512_set1_ps(alpha);                                                                        \
    if (R == 8 && V == 2 && mr == 8 && nr == 32) {                                                                    \
      _Pragma("GCC unroll 8") for (int i = 0; i < 8; i++) {                                                         \
        float* dst = C + (size_t)i * ldc;                                                                           \
        __m512 v0 = _mm512_mul_ps(va, c[i][0]), v1 = _mm512_mul_ps(va, c[i][V - 1]);                                  \
        if (accumulate) { v0 = _mm512_add_ps(_mm512_loadu_ps(dst), v0); v1 = _mm512_add_ps(_mm512_loadu_ps(dst + 16), v1); } \
        _mm512_storeu_ps(dst, v0); _mm512_storeu_ps(dst + 16, v1);                                                  \
      }                                                                                                             \
      return;                                                                                                       \
    }                                                                                                               \
    alignas(64) float tile[8 * 32];                                                                                 \
    _Pragma("GCC unroll 8") for (int i = 0; i < R; i++)                                                             \
      _Pragma("GCC unroll 2") for (int v = 0; v < V; v++) _mm512_store_ps(tile + i * 32 + 16 * v, _mm512_mul_ps(va, c[i][v])); \
    storeEdge(tile, 32, C, ldc, accumulate, mr, nr);                                                                \
  }

__attribute__((target("avx512f,fma")))
static void micro512(int kc, const float* pa, const float* pb, float* C, int ldc, float alpha, bool accumulate, int mr, int nr) {
  __m512 c[8][2];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) { c[i][0] = _mm512_setzero_ps(); c[i][1] = _mm512_setzero_ps(); }
  for (int p = 0; p < kc; p++) {
    const __m512 b0 = _mm512_loadu_ps(pb), b1 = _mm512_loadu_ps(pb + 16);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
      const __m512 a = _mm512_set1_ps(pa[i]);
      c[i][0] = _mm512_fmadd_ps(a, b0, c[i][0]);
      c[i][1] = _mm512_fmadd_ps(a, b1, c[i][1]);
    }
    pa += 8; pb += 32;
  }
  PG_STORE512(8, 2)
}

// micro512 reading op(A) where it lies instead of from a packed panel (row i of the tile at step
// p is A[i sAi + p sAp]), and op(B) packed or in place (row p at pb + p sBp; columns past nr are
// masked off, never read). R rows and V vectors of 16 columns are computed, so a thin C (a
// SIREN's one-output layer, its first layer's weight gradient) does not pay for a whole 8 x 32
// tile. Each element's arithmetic is micro512's: the same bits on either path.
template <int R, int V>
__attribute__((target("avx512f,fma")))
static void micro512DirectRV(int kc, const float* A, ptrdiff_t sAi, ptrdiff_t sAp, const float* pb, ptrdiff_t sBp, float* C, int ldc, float alpha, bool accumulate, int mr, int nr) {
  const __mmask16 m0 = (__mmask16)(nr >= 16 ? 0xFFFF : (1u << nr) - 1);
  const __mmask16 m1 = (__mmask16)(nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (1u << (nr - 16)) - 1);
  const float* row[R];
#pragma GCC unroll 8
  for (int i = 0; i < R; i++) row[i] = A + i * sAi;
  __m512 c[R][V];
#pragma GCC unroll 8
  for (int i = 0; i < R; i++)
#pragma GCC unroll 2
    for (int v = 0; v < V; v++) c[i][v] = _mm512_setzero_ps();
  for (int p = 0; p < kc; p++) {
    const ptrdiff_t o = (ptrdiff_t)p * sAp;
    __m512 b[V];
    b[0] = nr >= 16 ? _mm512_loadu_ps(pb) : _mm512_maskz_loadu_ps(m0, pb);
    if (V == 2) b[V - 1] = nr == 32 ? _mm512_loadu_ps(pb + 16) : _mm512_maskz_loadu_ps(m1, pb + 16);
#pragma GCC unroll 8
    for (int i = 0; i < R; i++) {
      const __m512 a = _mm512_set1_ps(row[i][o]);
#pragma GCC unroll 2
      for (int v = 0; v < V; v++) c[i][v] = _mm512_fmadd_ps(a, b[v], c[i][v]);
    }
    pb += sBp;
  }
  PG_STORE512(R, V)
}
template <int V>
static AI void micro512DirectV(int kc, const float* A, ptrdiff_t sAi, ptrdiff_t sAp, const float* pb, ptrdiff_t sBp, float* C, int ldc, float alpha, bool accumulate, int mr, int nr) {
  switch (mr) {
    case 1: return micro512DirectRV<1, V>(kc, A, sAi, sAp, pb, sBp, C, ldc, alpha, accumulate, mr, nr);
    case 2: return micro512DirectRV<2, V>(kc, A, sAi, sAp, pb, sBp, C, ldc, alpha, accumulate, mr, nr);
    case 3: return micro512DirectRV<3, V>(kc, A, sAi, sAp, pb, sBp, C, ldc, alpha, accumulate, mr, nr);
    case 4: return micro512DirectRV<4, V>(kc, A, sAi, sAp, pb, sBp, C, ldc, alpha, accumulate, mr, nr);
    case 5: return micro512DirectRV<5, V>(kc, A, sAi, sAp, pb, sBp, C, ldc, alpha, accumulate, mr, nr);
    case 6: return micro512DirectRV<6, V>(kc, A, sAi, sAp, pb, sBp, C, ldc, alpha, accumulate, mr, nr);
    case 7: return micro512DirectRV<7, V>(kc, A, sAi, sAp, pb, sBp, C, ldc, alpha, accumulate, mr, nr);
    default: return micro512DirectRV<8, V>(kc, A, sAi, sAp, pb, sBp, C, ldc, alpha, accumulate, mr, nr);
  }
}
static void micro512Direct(int kc, const float* A, ptrdiff_t sAi, ptrdiff_t sAp, const float* pb, ptrdiff_t sBp, float* C, int ldc, float alpha, bool accumulate, int mr, int nr) {
  if (nr > 16) micro512DirectV<2>(kc, A, sAi, sAp, pb, sBp, C, ldc, alpha, accumulate, mr, nr);
  else micro512DirectV<1>(kc, A, sAi, sAp, pb, sBp, C, ldc, alpha, accumulate, mr, nr);
}

// AVX2: 6 rows x 16 columns, 12 accumulators (kept in registers as micro512's are).
#define PG_STORE256                                                                                                  \
  {                                                                                                                 \
    const __m256 va = _mm256_set1_ps(alpha);                                                                        \
    if (mr == 6 && nr == 16) {                                                                                      \
      _Pragma("GCC unroll 6") for (int i = 0; i < 6; i++) {                                                         \
        float* dst = C + (size_t)i * ldc;                                                                           \
        __m256 v0 = _mm256_mul_ps(va, c0[i]), v1 = _mm256_mul_ps(va, c1[i]);                                        \
        if (accumulate) { v0 = _mm256_add_ps(_mm256_loadu_ps(dst), v0); v1 = _mm256_add_ps(_mm256_loadu_ps(dst + 8), v1); } \
        _mm256_storeu_ps(dst, v0); _mm256_storeu_ps(dst + 8, v1);                                                   \
      }                                                                                                             \
      return;                                                                                                       \
    }                                                                                                               \
    alignas(32) float tile[6 * 16];                                                                                 \
    _Pragma("GCC unroll 6") for (int i = 0; i < 6; i++) {                                                           \
      _mm256_store_ps(tile + i * 16, _mm256_mul_ps(va, c0[i])); _mm256_store_ps(tile + i * 16 + 8, _mm256_mul_ps(va, c1[i])); \
    }                                                                                                               \
    storeEdge(tile, 16, C, ldc, accumulate, mr, nr);                                                                \
  }

__attribute__((target("avx2,fma")))
static void micro256(int kc, const float* pa, const float* pb, float* C, int ldc, float alpha, bool accumulate, int mr, int nr) {
  __m256 c0[6], c1[6];
#pragma GCC unroll 6
  for (int i = 0; i < 6; i++) { c0[i] = _mm256_setzero_ps(); c1[i] = _mm256_setzero_ps(); }
  for (int p = 0; p < kc; p++) {
    const __m256 b0 = _mm256_loadu_ps(pb), b1 = _mm256_loadu_ps(pb + 8);
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
      const __m256 a = _mm256_broadcast_ss(pa + i);
      c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);
    }
    pa += 6; pb += 16;
  }
  PG_STORE256
}

// micro256 reading op(A) where it lies (as micro512Direct).
__attribute__((target("avx2,fma")))
static void micro256Direct(int kc, const float* A, ptrdiff_t sAi, ptrdiff_t sAp, const float* pb, ptrdiff_t sBp, float* C, int ldc, float alpha, bool accumulate, int mr, int nr) {
  const float* row[6];
  for (int i = 0; i < 6; i++) row[i] = A + (ptrdiff_t)std::min(i, mr - 1) * sAi;
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr), lane), m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr - 8), lane);
  __m256 c0[6], c1[6];
#pragma GCC unroll 6
  for (int i = 0; i < 6; i++) { c0[i] = _mm256_setzero_ps(); c1[i] = _mm256_setzero_ps(); }
  for (int p = 0; p < kc; p++) {
    const ptrdiff_t o = (ptrdiff_t)p * sAp;
    const __m256 b0 = _mm256_maskload_ps(pb, m0), b1 = _mm256_maskload_ps(pb + 8, m1);
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
      const __m256 a = _mm256_broadcast_ss(row[i] + o);
      c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);
    }
    pb += sBp;
  }
  PG_STORE256
}
#endif

// Portable: 4 rows x 8 columns in plain arithmetic (no FMA), which the compiler vectorises.
static void microPortable(int kc, const float* pa, const float* pb, float* C, int ldc, float alpha, bool accumulate, int mr, int nr) {
  float c[4][8] = {};
  for (int p = 0; p < kc; p++) {
    for (int i = 0; i < 4; i++) for (int j = 0; j < 8; j++) c[i][j] += pa[i] * pb[j];
    pa += 4; pb += 8;
  }
  float tile[4 * 8];
  for (int i = 0; i < 4; i++) for (int j = 0; j < 8; j++) tile[i * 8 + j] = alpha * c[i][j];
  storeEdge(tile, 8, C, ldc, accumulate, mr, nr);
}

// One panel of op(A): rows [0, rows) (of MR, the rest zero) x kc, laid out [p][MR]; and one
// panel of op(B): cols [0, cols) (of NR) x kc, laid out [p][NR]. Each reads its source along
// its contiguous axis.
template <int MR>
static AI void packPanelA(bool t, const float* A, int lda, int rows, int kc, float* e) {
  if (t) {
    for (int p = 0; p < kc; p++) {
      const float* src = A + (size_t)p * lda;
      for (int r = 0; r < MR; r++) e[(size_t)p * MR + r] = r < rows ? src[r] : 0.0f;
    }
    return;
  }
  for (int r = 0; r < MR; r++) {
    if (r >= rows) { for (int p = 0; p < kc; p++) e[(size_t)p * MR + r] = 0.0f; continue; }
    const float* src = A + (size_t)r * lda;
    for (int p = 0; p < kc; p++) e[(size_t)p * MR + r] = src[p];
  }
}
template <int NR>
static AI void packPanelB(bool t, const float* B, int ldb, int cols, int kc, float* d) {
  if (!t) {
    for (int p = 0; p < kc; p++) {
      const float* src = B + (size_t)p * ldb;
      if (cols == NR) { std::memcpy(d + (size_t)p * NR, src, sizeof(float) * NR); continue; }
      for (int c = 0; c < NR; c++) d[(size_t)p * NR + c] = c < cols ? src[c] : 0.0f;
    }
    return;
  }
  for (int c = 0; c < NR; c++) {
    if (c >= cols) { for (int p = 0; p < kc; p++) d[(size_t)p * NR + c] = 0.0f; continue; }
    const float* src = B + (size_t)c * ldb;
    for (int p = 0; p < kc; p++) d[(size_t)p * NR + c] = src[p];
  }
}

// The blocked driver (GotoBLAS): B in KC x NC panels of NR columns, A in MC x KC panels of MR
// rows, both zero-padded to whole tiles, so every element is computed by the same micro-kernel
// arithmetic wherever its tile lies.
//
// Where op(B) is one panel of NR columns (N <= NR: the INR layers, the heads' narrow layers),
// each A panel would be packed for a single use, and packing it cost as much as the multiply
// (a SIREN fit spent a third of its time there); A is then read in place by the direct
// micro-kernel, whose arithmetic is the packed one's, so the bits are the same.
template <int MR, int NR, MicroFn micro, MicroDirectFn direct>
static void gemmBlocked(bool tA, bool tB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
                        float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (beta == 0) for (int i = 0; i < M; i++) std::memset(C + (size_t)i * ldc, 0, sizeof(float) * N);
    return;
  }
  thread_local std::vector<float> pa, pb;
  const int mcMax = ((MC_ROWS + MR - 1) / MR) * MR, ncMax = ((NC_COLS + NR - 1) / NR) * NR;
  if (pa.size() < (size_t)mcMax * KC) pa.resize((size_t)mcMax * KC);
  if (pb.size() < (size_t)ncMax * KC) pb.resize((size_t)ncMax * KC);
  for (int jc = 0; jc < N; jc += ncMax) {
    const int nc = std::min(ncMax, N - jc);
    for (int pc = 0; pc < K; pc += KC) {
      const int kc = std::min(KC, K - pc);
      const bool accumulate = beta != 0 || pc > 0;
      // op(B) rows [pc, pc + kc) x cols [jc, jc + nc) into panels [panel][p][NR]
      for (int j0 = 0; j0 < nc && !(direct != nullptr && N <= NR && !tB); j0 += NR) {
        const float* src = tB ? B + (size_t)(jc + j0) * ldb + pc : B + (size_t)pc * ldb + jc + j0;
        packPanelB<NR>(tB, src, ldb, std::min(NR, nc - j0), kc, pb.data() + (size_t)j0 * kc);
      }
      if (direct != nullptr && N <= NR) {
        const ptrdiff_t sAi = tA ? 1 : lda, sAp = tA ? lda : 1;
        const float* b = tB ? pb.data() : B + (size_t)pc * ldb;
        for (int i0 = 0; i0 < M; i0 += MR) {
          direct(kc, A + (ptrdiff_t)i0 * sAi + (ptrdiff_t)pc * sAp, sAi, sAp, b, tB ? NR : ldb, C + (size_t)i0 * ldc, ldc, alpha, accumulate,
                 std::min(MR, M - i0), N);
        }
        continue;
      }
      for (int ic = 0; ic < M; ic += mcMax) {
        const int mc = std::min(mcMax, M - ic);
        // op(A) rows [ic, ic + mc) x cols [pc, pc + kc) into panels [panel][p][MR]
        for (int i0 = 0; i0 < mc; i0 += MR) {
          const float* src = tA ? A + (size_t)pc * lda + ic + i0 : A + (size_t)(ic + i0) * lda + pc;
          packPanelA<MR>(tA, src, lda, std::min(MR, mc - i0), kc, pa.data() + (size_t)i0 * kc);
        }
        for (int j0 = 0; j0 < nc; j0 += NR) {
          for (int i0 = 0; i0 < mc; i0 += MR) {
            micro(kc, pa.data() + (size_t)i0 * kc, pb.data() + (size_t)j0 * kc, C + (size_t)(ic + i0) * ldc + jc + j0, ldc, alpha, accumulate,
                  std::min(MR, mc - i0), std::min(NR, nc - j0));
          }
        }
      }
    }
  }
}

// Operands packed whole, for the convolutions, which reuse one packing many times (a network's
// filters for every image, a shared image for every network): K in KC blocks, each block's
// panels as the driver packs them, so a product of packed operands is the same bits as gemm().
template <int MR>
static void packAWhole(bool t, const float* A, int lda, int M, int K, float* dst) {
  const int panels = (M + MR - 1) / MR;
  for (int pc = 0; pc < K; pc += KC) {
    const int kc = std::min(KC, K - pc);
    float* e = dst + (size_t)pc * panels * MR;
    for (int i0 = 0; i0 < M; i0 += MR) {
      packPanelA<MR>(t, t ? A + (size_t)pc * lda + i0 : A + (size_t)i0 * lda + pc, lda, std::min(MR, M - i0), kc, e + (size_t)i0 * kc);
    }
  }
}
template <int NR>
static void packBWhole(bool t, const float* B, int ldb, int K, int N, float* dst) {
  const int panels = (N + NR - 1) / NR;
  for (int pc = 0; pc < K; pc += KC) {
    const int kc = std::min(KC, K - pc);
    float* d = dst + (size_t)pc * panels * NR;
    for (int j0 = 0; j0 < N; j0 += NR) {
      packPanelB<NR>(t, t ? B + (size_t)j0 * ldb + pc : B + (size_t)pc * ldb + j0, ldb, std::min(NR, N - j0), kc, d + (size_t)j0 * kc);
    }
  }
}
// C[M,N] = alpha pa pb (+ C when accumulate), both packed whole.
template <int MR, int NR, MicroFn micro>
static void multiplyPacked(int M, int N, int K, const float* pa, const float* pb, float alpha, bool accumulate, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) for (int i = 0; i < M; i++) std::memset(C + (size_t)i * ldc, 0, sizeof(float) * N);
    return;
  }
  const int mp = (M + MR - 1) / MR, np = (N + NR - 1) / NR;
  for (int pc = 0; pc < K; pc += KC) {
    const int kc = std::min(KC, K - pc);
    const float* a = pa + (size_t)pc * mp * MR;
    const float* b = pb + (size_t)pc * np * NR;
    for (int j0 = 0; j0 < N; j0 += NR) {
      for (int i0 = 0; i0 < M; i0 += MR) {
        micro(kc, a + (size_t)i0 * kc, b + (size_t)j0 * kc, C + (size_t)i0 * ldc + j0, ldc, alpha, accumulate || pc > 0,
              std::min(MR, M - i0), std::min(NR, N - j0));
      }
    }
  }
}

// C[M,N] (+)= the sum over images of A_i B_i, image by image: what a gemm() per image with
// K = HW and beta 1 after the first computes (for each element, an FMA chain from zero per KC
// columns of each image, added to C in order), with C's tile kept in a local buffer across a
// group's images instead of read and written back once per image. pa and pb hold the group's
// images one after another along K ([panel][image][p][MR], [panel][image][p][NR]).
template <int MR, int NR, MicroFn micro>
static void multiplySegmented(int M, int N, int images, int HW, const float* pa, const float* pb, bool accumulate, float* C, int ldc) {
  const int K = images * HW;
  alignas(64) float tile[MR * NR];
  for (int j0 = 0; j0 < N; j0 += NR) {
    for (int i0 = 0; i0 < M; i0 += MR) {
      const int mr = std::min(MR, M - i0), nr = std::min(NR, N - j0);
      float* c = C + (size_t)i0 * ldc + j0;
      if (accumulate) for (int i = 0; i < MR; i++) for (int j = 0; j < NR; j++) tile[i * NR + j] = i < mr && j < nr ? c[(size_t)i * ldc + j] : 0.0f;
      bool have = accumulate;
      for (int img = 0; img < images; img++) {
        for (int pc = 0; pc < HW; pc += KC) {
          const int at = img * HW + pc;
          micro(std::min(KC, HW - pc), pa + (size_t)i0 * K + (size_t)at * MR, pb + (size_t)j0 * K + (size_t)at * NR, tile, NR, 1, have, MR, NR);
          have = true;
        }
      }
      for (int i = 0; i < mr; i++) std::memcpy(c + (size_t)i * ldc, tile + i * NR, sizeof(float) * nr);
    }
  }
}

typedef void (*GemmFn)(bool, bool, int, int, int, float, const float*, int, const float*, int, float, float*, int);
struct GemmIsa {
  const char* name;
  int MR, NR;
  GemmFn gemm;
  void (*packA)(bool, const float*, int, int, int, float*);
  void (*packB)(bool, const float*, int, int, int, float*);
  void (*multiply)(int, int, int, const float*, const float*, float, bool, float*, int);
  void (*multiplySegmented)(int, int, int, int, const float*, const float*, bool, float*, int);
};
template <int MR, int NR, MicroFn micro, MicroDirectFn direct>
static GemmIsa isaOf(const char* name) {
  return {name, MR, NR, gemmBlocked<MR, NR, micro, direct>, packAWhole<MR>, packBWhole<NR>, multiplyPacked<MR, NR, micro>, multiplySegmented<MR, NR, micro>};
}

static GemmIsa isa = isaOf<4, 8, microPortable, nullptr>("portable");

// Floats of a packed operand: rows padded to whole panels, times K.
static AI size_t packedFloats(int rows, int K, int unit) { return (size_t)((rows + unit - 1) / unit) * unit * std::max(K, 1); }

static void chooseGemm() {
#ifdef PG_X86
  __builtin_cpu_init();
  const char* want = getenv("PROBEGEN_NATIVE_SIMD");
  const bool any = want == nullptr || *want == 0;
  if ((any || strcmp(want, "avx512") == 0) && __builtin_cpu_supports("avx512f")) { isa = isaOf<8, 32, micro512, micro512Direct>("avx512"); return; }
  if ((any || strcmp(want, "avx2") == 0 || strcmp(want, "avx512") == 0) && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    isa = isaOf<6, 16, micro256, micro256Direct>("avx2");
    return;
  }
#endif
}

static AI void gemm(bool tA, bool tB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  isa.gemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// A per-thread scratch buffer of at least n floats.
static float* scratch(std::vector<float>& v, size_t n) { if (v.size() < n) v.resize(n); return v.data(); }

// ---------------------------------------------------------------------------------------------
// Transcendentals: the WASM module's polynomials (assembly/vmath.ts, SLEEF's and Cephes'), in
// scalar float arithmetic the compiler vectorises.

static const float PI_A = 3.1414794921875f, PI_B = 0.00011315941810607910156f, PI_C = 1.9841872589410058936e-9f;
static const float INV_PI = 0.318309886183790671538f;
static const float MAGIC = 12582912.0f;
static const int32_t MAGIC_BITS = 0x4b400000;

static AI int32_t bitsOf(float f) { int32_t i; std::memcpy(&i, &f, 4); return i; }
static AI float floatOf(int32_t i) { float f; std::memcpy(&f, &i, 4); return f; }

static AI float sinPoly(float d, float s) {
  float u = 2.6083159809786593541503e-6f;
  u = u * s + -0.0001981069071916863322258f;
  u = u * s + 0.00833307858556509017944336f;
  u = u * s + -0.166666597127914428710938f;
  return s * (u * d) + d;
}
static AI float reduce(float x, float q, bool half) {
  float d = x - q * (half ? PI_A * 0.5f : PI_A);
  d = d - q * (half ? PI_B * 0.5f : PI_B);
  return d - q * (half ? PI_C * 0.5f : PI_C);
}
static AI float vsin(float x) {
  const float t = x * INV_PI + MAGIC;
  const float q = t - MAGIC;
  const float d = reduce(x, q, false);
  const float s = d * d;
  return sinPoly(floatOf(bitsOf(d) ^ (int32_t)((uint32_t)bitsOf(t) << 31)), s);
}
static AI float vcos(float x) {
  const float qh = ((x * INV_PI - 0.5f) + MAGIC) - MAGIC;
  const float q = (qh + qh) + 1.0f;
  const int32_t qi = bitsOf(q + MAGIC) - MAGIC_BITS;
  float d = reduce(x, q, true);
  const float s = d * d;
  d = floatOf(bitsOf(d) ^ ((qi & 2) == 0 ? (int32_t)0x80000000 : 0));
  return sinPoly(d, s);
}
static AI float vexp(float x) {
  x = std::min(std::max(x, -87.3365f), 88.7228f);
  const float tn = x * 1.44269504088896341f + MAGIC;
  const float n = tn - MAGIC;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = ((p * r) * r + r) + 1.0f;
  const int32_t ni = bitsOf(tn) - MAGIC_BITS;
  const int32_t h = ni >> 1;
  return (y * floatOf((h + 127) << 23)) * floatOf(((ni - h) + 127) << 23);
}
static AI float vtanh(float x) {
  const float t = vexp(std::fabs(x) * -2.0f);
  const float y = (1.0f - t) / (1.0f + t);
  return floatOf(bitsOf(y) | (bitsOf(x) & (int32_t)0x80000000));
}
static AI float vsigmoid(float x) { return 1.0f / (1.0f + vexp(-x)); }
static AI float verf(float x) {
  const float ax = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.3275911f * ax);
  float p = 1.061405429f;
  p = p * t + -1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t + -0.284496736f;
  p = p * t + 0.254829592f;
  p = p * t;
  const float y = 1.0f - p * vexp(-(ax * ax));
  return floatOf(bitsOf(y) | (bitsOf(x) & (int32_t)0x80000000));
}
static AI float cosPoly(float s) {
  float u = 2.08767569878681e-9f;
  u = u * s + -2.75573192239859e-7f;
  u = u * s + 2.48015873015873e-5f;
  u = u * s + -0.00138888888888889f;
  u = u * s + 0.0416666666666667f;
  u = u * s + -0.5f;
  return u * s + 1.0f;
}
static AI void vsincos(float x, float* sinOut, float* cosOut) {
  const float t = x * INV_PI + MAGIC;
  const float q = t - MAGIC;
  const float d = reduce(x, q, false);
  const float s = d * d;
  const int32_t odd = (int32_t)((uint32_t)bitsOf(t) << 31);
  *sinOut = floatOf(bitsOf(sinPoly(d, s)) ^ odd);
  *cosOut = floatOf(bitsOf(cosPoly(s)) ^ odd);
}
static AI float gelu(float x) { return (0.5f * x) * (1.0f + verf(x * 0.7071067811865476f)); }
static AI float geluGrad(float x) {
  const float cdf = 0.5f * (1.0f + verf(x * 0.7071067811865476f));
  const float pdf = 0.3989422804014327f * vexp(-0.5f * (x * x));
  return cdf + x * pdf;
}

// ---------------------------------------------------------------------------------------------
// Kernels, as assembly/ exports them. `a` holds the call's arguments as doubles.

typedef double (*Kernel)(Base, const double*);
struct KernelDef { const char* name; int args; Kernel fn; };

#define ACC(dx, i, v) (dx)[i] = acc ? (dx)[i] + (v) : (v)

CLONES static double k_fill(Base B, const double* a) { float* y = F(B, a[0]); const int n = (int)a[1]; const float v = (float)a[2]; for (int i = 0; i < n; i++) y[i] = v; return 0; }
CLONES static double k_axpby(Base B, const double* a) {
  const float* x = F(B, a[0]); float* y = F(B, a[1]); const int n = (int)a[2]; const float al = (float)a[3], be = (float)a[4];
  if (be == 0) for (int i = 0; i < n; i++) y[i] = al * x[i];
  else for (int i = 0; i < n; i++) y[i] = al * x[i] + be * y[i];
  return 0;
}
CLONES static double k_add(Base B, const double* a) { const float *x = F(B, a[0]), *z = F(B, a[1]); float* y = F(B, a[2]); const int n = (int)a[3]; for (int i = 0; i < n; i++) y[i] = x[i] + z[i]; return 0; }
CLONES static double k_sub(Base B, const double* a) { const float *x = F(B, a[0]), *z = F(B, a[1]); float* y = F(B, a[2]); const int n = (int)a[3]; for (int i = 0; i < n; i++) y[i] = x[i] - z[i]; return 0; }
CLONES static double k_mul(Base B, const double* a) {
  const float *x = F(B, a[0]), *z = F(B, a[1]); float* y = F(B, a[2]); const int n = (int)a[3]; const bool acc = a[4] != 0;
  for (int i = 0; i < n; i++) ACC(y, i, x[i] * z[i]);
  return 0;
}
CLONES static double k_addScalar(Base B, const double* a) { const float* x = F(B, a[0]); float* y = F(B, a[1]); const int n = (int)a[2]; const float c = (float)a[3]; for (int i = 0; i < n; i++) y[i] = x[i] + c; return 0; }
CLONES static double k_sinForward(Base B, const double* a) { const float* x = F(B, a[0]); float* y = F(B, a[1]); const int n = (int)a[2]; const float w = (float)a[3]; for (int i = 0; i < n; i++) y[i] = vsin(w * x[i]); return 0; }
CLONES static double k_sinBackward(Base B, const double* a) {
  const float *x = F(B, a[0]), *dy = F(B, a[1]); float* dx = F(B, a[2]); const int n = (int)a[3]; const float w = (float)a[4]; const bool acc = a[5] != 0;
  for (int i = 0; i < n; i++) ACC(dx, i, (dy[i] * w) * vcos(w * x[i]));
  return 0;
}
CLONES static double k_biasSinForward(Base B, const double* a) {
  const float *z = F(B, a[0]), *bias = F(B, a[1]); float* y = F(B, a[2]); float* dydz = a[3] == 0 ? nullptr : F(B, a[3]);
  const int n0 = (int)a[4], n1 = (int)a[5], n2 = (int)a[6]; const float w = (float)a[7];
  for (int i0 = 0; i0 < n0; i0++) {
    const float* brow = bias + (size_t)i0 * n2;
    for (int r = 0; r < n1; r++) {
      const size_t base = ((size_t)i0 * n1 + r) * n2;
      if (dydz == nullptr) {
        for (int c = 0; c < n2; c++) y[base + c] = vsin(w * (z[base + c] + brow[c]));
      } else {
        for (int c = 0; c < n2; c++) {
          float s, co;
          vsincos(w * (z[base + c] + brow[c]), &s, &co);
          y[base + c] = s;
          dydz[base + c] = w * co;
        }
      }
    }
  }
  return 0;
}
CLONES static double k_cosForward(Base B, const double* a) { const float* x = F(B, a[0]); float* y = F(B, a[1]); const int n = (int)a[2]; const float w = (float)a[3]; for (int i = 0; i < n; i++) y[i] = vcos(w * x[i]); return 0; }
CLONES static double k_cosBackward(Base B, const double* a) {
  const float *x = F(B, a[0]), *dy = F(B, a[1]); float* dx = F(B, a[2]); const int n = (int)a[3]; const float w = (float)a[4]; const bool acc = a[5] != 0;
  for (int i = 0; i < n; i++) ACC(dx, i, (dy[i] * -w) * vsin(w * x[i]));
  return 0;
}
CLONES static double k_expForward(Base B, const double* a) { const float* x = F(B, a[0]); float* y = F(B, a[1]); const int n = (int)a[2]; for (int i = 0; i < n; i++) y[i] = vexp(x[i]); return 0; }
CLONES static double k_tanhForward(Base B, const double* a) { const float* x = F(B, a[0]); float* y = F(B, a[1]); const int n = (int)a[2]; for (int i = 0; i < n; i++) y[i] = vtanh(x[i]); return 0; }
CLONES static double k_tanhBackward(Base B, const double* a) {
  const float *y = F(B, a[0]), *dy = F(B, a[1]); float* dx = F(B, a[2]); const int n = (int)a[3]; const bool acc = a[4] != 0;
  for (int i = 0; i < n; i++) ACC(dx, i, dy[i] * (1.0f - y[i] * y[i]));
  return 0;
}
CLONES static double k_sigmoidForward(Base B, const double* a) { const float* x = F(B, a[0]); float* y = F(B, a[1]); const int n = (int)a[2]; for (int i = 0; i < n; i++) y[i] = vsigmoid(x[i]); return 0; }
CLONES static double k_sigmoidBackward(Base B, const double* a) {
  const float *y = F(B, a[0]), *dy = F(B, a[1]); float* dx = F(B, a[2]); const int n = (int)a[3]; const bool acc = a[4] != 0;
  for (int i = 0; i < n; i++) ACC(dx, i, dy[i] * (y[i] * (1.0f - y[i])));
  return 0;
}
// out[i] = y[i] > 0 ? g[i] : g[i] * 0: ReLU's backward (leakyReluBackward's slope 0, a negative
// gradient's zero signed as it gives it); out may be g.
CLONES static void maskByPositive(const float* g, const float* y, float* out, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = y[i] > 0 ? g[i] : g[i] * 0.0f;
}
CLONES static double k_leakyReluForward(Base B, const double* a) {
  const float* x = F(B, a[0]); float* y = F(B, a[1]); const int n = (int)a[2]; const float s = (float)a[3];
  for (int i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : x[i] * s;
  return 0;
}
CLONES static double k_leakyReluBackward(Base B, const double* a) {
  const float *x = F(B, a[0]), *dy = F(B, a[1]); float* dx = F(B, a[2]); const int n = (int)a[3]; const float s = (float)a[4]; const bool acc = a[5] != 0;
  for (int i = 0; i < n; i++) ACC(dx, i, x[i] > 0 ? dy[i] : dy[i] * s);
  return 0;
}
CLONES static double k_geluForward(Base B, const double* a) { const float* x = F(B, a[0]); float* y = F(B, a[1]); const int n = (int)a[2]; for (int i = 0; i < n; i++) y[i] = gelu(x[i]); return 0; }
CLONES static double k_geluBackward(Base B, const double* a) {
  const float *x = F(B, a[0]), *dy = F(B, a[1]); float* dx = F(B, a[2]); const int n = (int)a[3]; const bool acc = a[4] != 0;
  for (int i = 0; i < n; i++) ACC(dx, i, dy[i] * geluGrad(x[i]));
  return 0;
}
// Sums in double, in four interleaved partial sums (as the WASM module's lanes), then the tail.
static double k_sum(Base B, const double* a) {
  const float* x = F(B, a[0]); const int n = (int)a[1];
  double s[4] = {0, 0, 0, 0};
  int i = 0;
  for (; i + 4 <= n; i += 4) for (int l = 0; l < 4; l++) s[l] += (double)x[i + l];
  double t = (s[0] + s[1]) + (s[2] + s[3]);
  for (; i < n; i++) t += (double)x[i];
  return t;
}
static double k_dot(Base B, const double* a) {
  const float *x = F(B, a[0]), *y = F(B, a[1]); const int n = (int)a[2];
  double s[4] = {0, 0, 0, 0};
  int i = 0;
  for (; i + 4 <= n; i += 4) for (int l = 0; l < 4; l++) s[l] += (double)(x[i + l] * y[i + l]);
  double t = (s[0] + s[1]) + (s[2] + s[3]);
  for (; i < n; i++) t += (double)x[i] * (double)y[i];
  return t;
}
static double k_gatherRows(Base B, const double* a) {
  const float* src = F(B, a[0]); const int per = (int)a[1]; const int32_t* rows = I32(B, a[2]); const int count = (int)a[3]; float* dst = F(B, a[4]);
  for (int i = 0; i < count; i++) std::memcpy(dst + (size_t)i * per, src + (size_t)rows[i] * per, sizeof(float) * per);
  return 0;
}
// Dropout masks from each network's xoshiro128** state (src/engine/random.ts, Rng.next):
// the same contract as assembly/elementwise.ts dropoutMask.
static AI uint32_t rotl32(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
// One generator per network, each a serial chain of integer steps: the chains of 16 networks
// run side by side, one per vector lane (the serial loop was 16% of a Small-CNN zoo build).
// A block of 16 draws per network goes through a small tile so each network's mask is written
// in runs.
static const int DROPOUT_LANES = 16;
CLONES static void dropoutLanes(uint32_t* const st[DROPOUT_LANES], const int32_t* mode, const float* keep, float* const out[DROPOUT_LANES], int per, int active) {
  uint32_t s0[DROPOUT_LANES], s1[DROPOUT_LANES], s2[DROPOUT_LANES], s3[DROPOUT_LANES], thr[DROPOUT_LANES];
  float k[DROPOUT_LANES], none[DROPOUT_LANES];
  for (int l = 0; l < DROPOUT_LANES; l++) {
    s0[l] = st[l][0]; s1[l] = st[l][1]; s2[l] = st[l][2]; s3[l] = st[l][3];
    thr[l] = (uint32_t)mode[2 * l + 1]; k[l] = keep[l]; none[l] = mode[2 * l] == 2 ? 1.0f : 0.0f;
  }
  float tile[16][DROPOUT_LANES];
  for (int i0 = 0; i0 < per; i0 += 16) {
    const int m = std::min(16, per - i0);
    for (int i = 0; i < m; i++) {
      for (int l = 0; l < DROPOUT_LANES; l++) {
        const uint32_t r = rotl32(s1[l] * 5u, 7) * 9u;
        const uint32_t t = s1[l] << 9;
        s2[l] ^= s0[l]; s3[l] ^= s1[l]; s1[l] ^= s2[l]; s0[l] ^= s3[l]; s2[l] ^= t; s3[l] = rotl32(s3[l], 11);
        tile[i][l] = none[l] != 0.0f || r < thr[l] ? 0.0f : k[l];
      }
    }
    for (int l = 0; l < active; l++) for (int i = 0; i < m; i++) out[l][i0 + i] = tile[i][l];
  }
  for (int l = 0; l < active; l++) { st[l][0] = s0[l]; st[l][1] = s1[l]; st[l][2] = s2[l]; st[l][3] = s3[l]; }
}
// xoshiro128**'s state update is linear over GF(2): L steps at once are one 128x128 bit matrix.
// The networks that do not fill a group of 16 lanes go one at a time, each stream cut into 16
// segments of L draws that the lanes run side by side, each started at its segment's state (the
// start jumped j * L steps): a lone network's stream was a serial chain of about 3 ns a draw,
// 17% of a Small-CNN zoo build whose cohorts shrink to a few networks. The draws are the same.
struct XoJump { uint32_t col[128][4]; };  // column b: the state a unit state of bit b becomes
static void xoStep(uint32_t s[4]) {
  const uint32_t t = s[1] << 9;
  s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl32(s[3], 11);
}
static void xoApply(const XoJump& J, const uint32_t in[4], uint32_t out[4]) {
  uint32_t r[4] = {0, 0, 0, 0};
  for (int b = 0; b < 128; b++) {
    const uint32_t take = 0u - ((in[b >> 5] >> (b & 31)) & 1u);
    for (int w = 0; w < 4; w++) r[w] ^= J.col[b][w] & take;
  }
  for (int w = 0; w < 4; w++) out[w] = r[w];
}
static void xoCompose(const XoJump& A, const XoJump& B, XoJump& out) {  // out = A after B
  XoJump r;
  for (int b = 0; b < 128; b++) xoApply(A, B.col[b], r.col[b]);
  out = r;
}
// L steps as one matrix, by squaring (about 40 products for L up to 10^6), kept per L: a build
// asks for the same few lengths at every step.
static const XoJump& xoJump(int L) {
  thread_local std::vector<std::pair<int, XoJump>> cache;
  for (const auto& e : cache) if (e.first == L) return e.second;
  XoJump step, acc;
  for (int b = 0; b < 128; b++) {
    uint32_t s[4] = {0, 0, 0, 0};
    s[b >> 5] = 1u << (b & 31);
    xoStep(s);
    for (int w = 0; w < 4; w++) step.col[b][w] = s[w];
    for (int w = 0; w < 4; w++) acc.col[b][w] = w == (b >> 5) ? 1u << (b & 31) : 0;
  }
  for (int n = L; n > 0; n >>= 1) {
    if (n & 1) xoCompose(step, acc, acc);
    if (n > 1) xoCompose(step, step, step);
  }
  if (cache.size() >= 32) cache.erase(cache.begin());
  cache.emplace_back(L, acc);
  return cache.back().second;
}
// Segments shorter than this are not worth their jumps (a matrix-vector product each).
static const int DROPOUT_MIN_SEGMENT = 256;
static double k_dropoutMask(Base B, const double* a) {
  int32_t* state = I32(B, a[0]); const int32_t* mode = I32(B, a[1]); const float* keep = F(B, a[2]); float* mask = F(B, a[3]);
  const int nets = (int)a[4], per = (int)a[5];
  // Mode 0 (no dropout) draws nothing; the others draw per element.
  thread_local std::vector<int> drawing;
  drawing.clear();
  for (int i = 0; i < nets; i++) {
    if (mode[2 * i] == 0) { float* m = mask + (size_t)i * per; for (int j = 0; j < per; j++) m[j] = 1.0f; }
    else drawing.push_back(i);
  }
  const int d = (int)drawing.size();
  // 16 networks side by side; lanes past the last drawing network run on a spare state and
  // write nothing. Where the streams are long enough to cut, the networks left over after the
  // whole groups go one at a time instead, each stream cut into 16 segments.
  const int L = per / DROPOUT_LANES;
  const int grouped = L >= DROPOUT_MIN_SEGMENT ? d - d % DROPOUT_LANES : d;
  uint32_t spare[4] = {1, 2, 3, 4};
  for (int b = 0; b < grouped; b += DROPOUT_LANES) {
    const int active = std::min(DROPOUT_LANES, grouped - b);
    uint32_t* st[DROPOUT_LANES]; float* out[DROPOUT_LANES]; int32_t md[2 * DROPOUT_LANES]; float kp[DROPOUT_LANES];
    for (int l = 0; l < DROPOUT_LANES; l++) {
      const int n = drawing[b + std::min(l, active - 1)];
      st[l] = l < active ? reinterpret_cast<uint32_t*>(state + 4 * n) : spare; out[l] = mask + (size_t)n * per;
      md[2 * l] = mode[2 * n]; md[2 * l + 1] = mode[2 * n + 1]; kp[l] = keep[n];
    }
    dropoutLanes(st, md, kp, out, per, active);
  }
  if (grouped == d) return 0;
  const XoJump& J = xoJump(L);
  for (int i = grouped; i < d; i++) {
    const int n = drawing[i];
    uint32_t seg[DROPOUT_LANES][4];
    uint32_t* st[DROPOUT_LANES]; float* out[DROPOUT_LANES]; int32_t md[2 * DROPOUT_LANES]; float kp[DROPOUT_LANES];
    std::memcpy(seg[0], state + 4 * n, sizeof seg[0]);
    for (int j = 0; j < DROPOUT_LANES; j++) {
      if (j > 0) xoApply(J, seg[j - 1], seg[j]);
      st[j] = seg[j]; out[j] = mask + (size_t)n * per + (size_t)j * L;
      md[2 * j] = mode[2 * n]; md[2 * j + 1] = mode[2 * n + 1]; kp[j] = keep[n];
    }
    dropoutLanes(st, md, kp, out, L, DROPOUT_LANES);
    // The last segment ends at draw 16 L: the rest (fewer than 16 draws) go one by one, and
    // its state then is where the network's generator ends.
    uint32_t* s = seg[DROPOUT_LANES - 1];
    const uint32_t threshold = (uint32_t)mode[2 * n + 1];
    const bool none = mode[2 * n] == 2;
    float* m = mask + (size_t)n * per;
    for (int e = DROPOUT_LANES * L; e < per; e++) {
      const uint32_t r = rotl32(s[1] * 5u, 7) * 9u;
      xoStep(s);
      m[e] = none || r < threshold ? 0.0f : keep[n];
    }
    std::memcpy(state + 4 * n, s, sizeof seg[0]);
  }
  return 0;
}
CLONES static double k_addChannel(Base B, const double* a) {
  const float *x = F(B, a[0]), *bias = F(B, a[1]); float* y = F(B, a[2]);
  const int n0 = (int)a[3], n1 = (int)a[4], n2 = (int)a[5], n3 = (int)a[6];
  if (n3 == 1) {
    // A linear layer's bias: rows of n2 features, each row plus the bias row (vectorised along
    // the row, where the general loop's inner run is one element long).
    for (int i0 = 0; i0 < n0; i0++) for (int i1 = 0; i1 < n1; i1++) {
      const size_t off = ((size_t)i0 * n1 + i1) * n2;
      const float* bv = bias + (size_t)i0 * n2;
      for (int i2 = 0; i2 < n2; i2++) y[off + i2] = x[off + i2] + bv[i2];
    }
    return 0;
  }
  for (int i0 = 0; i0 < n0; i0++) for (int i1 = 0; i1 < n1; i1++) {
    const size_t off = ((size_t)i0 * n1 + i1) * n2 * n3;
    for (int i2 = 0; i2 < n2; i2++) {
      const float bv = bias[(size_t)i0 * n2 + i2];
      for (int i3 = 0; i3 < n3; i3++) y[off + (size_t)i2 * n3 + i3] = x[off + (size_t)i2 * n3 + i3] + bv;
    }
  }
  return 0;
}
#ifdef PG_X86
static void sumChannelPlanes512(const float* xs, float* o, int n2, int n3);
#endif
CLONES static double k_sumChannel(Base B, const double* a) {
  const float* x = F(B, a[0]); float* out = F(B, a[1]);
  const int n0 = (int)a[2], n1 = (int)a[3], n2 = (int)a[4], n3 = (int)a[5]; const bool acc = a[6] != 0;
#ifdef PG_X86
  if (n3 >= 16 && n2 >= 8 && std::strcmp(isa.name, "avx512") == 0) {
    for (int i0 = 0; i0 < n0; i0++) {
      float* o = out + (size_t)i0 * n2;
      if (!acc) std::memset(o, 0, sizeof(float) * n2);
      for (int i1 = 0; i1 < n1; i1++) sumChannelPlanes512(x + ((size_t)i0 * n1 + i1) * n2 * n3, o, n2, n3);
    }
    return 0;
  }
#endif
  for (int i0 = 0; i0 < n0; i0++) {
    float* o = out + (size_t)i0 * n2;
    if (!acc) std::memset(o, 0, sizeof(float) * n2);
    for (int i1 = 0; i1 < n1; i1++) {
      const float* xs = x + ((size_t)i0 * n1 + i1) * n2 * n3;
      if (n3 == 1) {
        // A linear layer's bias gradient: whole rows added, vectorised along the row; 0 + x
        // as the general loop's one-element sum gives (a -0 becomes +0).
        for (int i2 = 0; i2 < n2; i2++) o[i2] += 0.0f + xs[i2];
        continue;
      }
      for (int i2 = 0; i2 < n2; i2++) {
        float t = 0;
        for (int i3 = 0; i3 < n3; i3++) t += xs[(size_t)i2 * n3 + i3];
        o[i2] += t;
      }
    }
  }
  return 0;
}
static AI float rowSum(const float* row, int p) { float t = 0; for (int j = 0; j < p; j++) t += row[j]; return t; }
CLONES static double k_meanLast(Base B, const double* a) {
  const float* x = F(B, a[0]); float* y = F(B, a[1]); const int m = (int)a[2], p = (int)a[3]; const float inv = 1.0f / (float)p;
  for (int i = 0; i < m; i++) y[i] = rowSum(x + (size_t)i * p, p) * inv;
  return 0;
}
CLONES static double k_meanLastBackward(Base B, const double* a) {
  const float* dy = F(B, a[0]); float* dx = F(B, a[1]); const int m = (int)a[2], p = (int)a[3]; const bool acc = a[4] != 0; const float inv = 1.0f / (float)p;
  for (int i = 0; i < m; i++) { const float g = dy[i] * inv; float* row = dx + (size_t)i * p; for (int j = 0; j < p; j++) ACC(row, j, g); }
  return 0;
}
CLONES static double k_planeMoments(Base B, const double* a) {
  const float* x = F(B, a[0]); float* y = F(B, a[1]); const int m = (int)a[2], p = (int)a[3]; const float eps = (float)a[4]; const float inv = 1.0f / (float)p;
  for (int i = 0; i < m; i++) {
    const float* row = x + (size_t)i * p;
    const float mean = rowSum(row, p) * inv;
    float u = 0;
    for (int j = 0; j < p; j++) { const float d = row[j] - mean; u += d * d; }
    y[2 * i] = mean;
    y[2 * i + 1] = std::sqrt(u * inv + eps);
  }
  return 0;
}
CLONES static double k_planeMomentsBackward(Base B, const double* a) {
  const float *x = F(B, a[0]), *y = F(B, a[1]), *dy = F(B, a[2]); float* dx = F(B, a[3]); const int m = (int)a[4], p = (int)a[5]; const bool acc = a[6] != 0;
  const float inv = 1.0f / (float)p;
  for (int i = 0; i < m; i++) {
    const float mean = y[2 * i], gm = dy[2 * i] * inv, gs = dy[2 * i + 1] * inv / y[2 * i + 1];
    const float* xr = x + (size_t)i * p; float* dr = dx + (size_t)i * p;
    for (int j = 0; j < p; j++) ACC(dr, j, gm + gs * (xr[j] - mean));
  }
  return 0;
}
static double k_softmaxCrossEntropy(Base B, const double* a) {
  const float* logits = F(B, a[0]); const int32_t* labels = I32(B, a[1]); const int n = (int)a[2], c = (int)a[3]; float* grad = a[4] == 0 ? nullptr : F(B, a[4]);
  double total = 0; const double invN = 1.0 / n;
  for (int i = 0; i < n; i++) {
    const float* row = logits + (size_t)i * c;
    double mx = -INFINITY;
    for (int j = 0; j < c; j++) mx = std::max(mx, (double)row[j]);
    double z = 0;
    for (int j = 0; j < c; j++) z += std::exp((double)row[j] - mx);
    const int label = labels[i];
    const double logZ = std::log(z) + mx;
    total += logZ - (double)row[label];
    if (grad != nullptr) {
      float* g = grad + (size_t)i * c;
      for (int j = 0; j < c; j++) g[j] = (float)((std::exp((double)row[j] - logZ) - (j == label ? 1.0 : 0.0)) * invN);
    }
  }
  return total * invN;
}
static double k_mse(Base B, const double* a) {
  const float *pred = F(B, a[0]), *target = F(B, a[1]); const int n = (int)a[2]; float* grad = a[3] == 0 ? nullptr : F(B, a[3]);
  double total = 0; const double s = 2.0 / n;
  for (int i = 0; i < n; i++) { const double d = (double)pred[i] - (double)target[i]; total += d * d; if (grad != nullptr) grad[i] = (float)(s * d); }
  return total / n;
}
CLONES static double k_adamStep(Base B, const double* a) {
  float *p = F(B, a[0]), *g = F(B, a[1]), *m = F(B, a[2]), *v = F(B, a[3]); const int n = (int)a[4];
  const float lr = (float)a[5], b1 = (float)a[6], b2 = (float)a[7], eps = (float)a[8], bc1 = (float)a[9], bc2Sqrt = (float)a[10], wd = (float)a[11];
  const float step = lr / bc1, w1 = 1 - b1, w2 = 1 - b2;
  for (int i = 0; i < n; i++) {
    float gv = g[i];
    if (wd != 0) gv = gv + wd * p[i];
    const float mv = m[i] + w1 * (gv - m[i]);
    const float vv = b2 * v[i] + w2 * (gv * gv);
    m[i] = mv; v[i] = vv;
    p[i] = p[i] - step * (mv / (std::sqrt(vv) / bc2Sqrt + eps));
  }
  return 0;
}
static double k_rmspropStep(Base B, const double* a) {
  float *p = F(B, a[0]), *g = F(B, a[1]), *v = F(B, a[2]); const int n = (int)a[3]; const double lr = a[4], rho = a[5], eps = a[6];
  for (int i = 0; i < n; i++) {
    const double gi = g[i];
    const float vi = (float)(rho * (double)v[i] + (1 - rho) * gi * gi);
    v[i] = vi;
    p[i] = (float)((double)p[i] - (lr * gi) / (std::sqrt((double)vi) + eps));
  }
  return 0;
}
static double k_maxPool2dForward(Base B, const double* a) {
  const float* x = F(B, a[0]); float* y = F(B, a[1]); int32_t* arg = I32(B, a[2]);
  const int planes = (int)a[3], H = (int)a[4], W = (int)a[5], K = (int)a[6], s = (int)a[7], pd = (int)a[8], OH = (int)a[9], OW = (int)a[10];
  for (int n = 0; n < planes; n++) {
    const float* xp = x + (size_t)n * H * W; const size_t o = (size_t)n * OH * OW;
    for (int oh = 0; oh < OH; oh++) {
      const int h0 = std::max(oh * s - pd, 0), h1 = std::min(oh * s - pd + K, H);
      for (int ow = 0; ow < OW; ow++) {
        const int w0 = std::max(ow * s - pd, 0), w1 = std::min(ow * s - pd + K, W);
        float best = -INFINITY; int at = h0 * W + w0;
        for (int ih = h0; ih < h1; ih++) for (int iw = w0; iw < w1; iw++) {
          const float v = xp[ih * W + iw];
          if (v > best || v != v) { best = v; at = ih * W + iw; }
        }
        y[o + oh * OW + ow] = best; arg[o + oh * OW + ow] = at;
      }
    }
  }
  return 0;
}
static double k_maxPool2dBackward(Base B, const double* a) {
  const float* dy = F(B, a[0]); const int32_t* arg = I32(B, a[1]); float* dx = F(B, a[2]);
  const int planes = (int)a[3], H = (int)a[4], W = (int)a[5], OH = (int)a[6], OW = (int)a[7]; const bool acc = a[8] != 0;
  if (!acc) std::memset(dx, 0, sizeof(float) * (size_t)planes * H * W);
  for (int n = 0; n < planes; n++) {
    float* d = dx + (size_t)n * H * W; const size_t o = (size_t)n * OH * OW;
    for (int q = 0; q < OH * OW; q++) d[arg[o + q]] += dy[o + q];
  }
  return 0;
}

// --- convolutions: im2col / col2im around gemm ---

static AI int outSize(int n, int k, int s, int p) { return (n + 2 * p - k) / s + 1; }

// The output columns ow whose input column ow * sw - pw + j lies in [0, W): [lo, hi).
static AI void insideColumns(int W, int sw, int pw, int j, int OW, int* lo, int* hi) {
  *lo = std::min(OW, pw - j > 0 ? (pw - j + sw - 1) / sw : 0);
  const int lim = W - 1 + pw - j;
  *hi = std::max(*lo, lim < 0 ? 0 : std::min(OW, lim / sw + 1));
}

// rows [r0, r1) of im2col(x), row r at cols + (r - r0) * ld
CLONES static void im2colRows(const float* x, int C, int H, int W, int KH, int KW, int sh, int sw, int ph, int pw, int OH, int OW, float* cols, int ld, int r0, int r1) {
  (void)C;
  for (int r = r0; r < r1; r++) {
    const int c = r / (KH * KW), i = (r / KW) % KH, j = r % KW;
    const float* xc = x + (size_t)c * H * W;
    float* dst = cols + (size_t)(r - r0) * ld;
    int lo, hi;
    insideColumns(W, sw, pw, j, OW, &lo, &hi);
    const int off = j - pw;
    for (int oh = 0; oh < OH; oh++) {
      const int ih = oh * sh - ph + i;
      float* d = dst + (size_t)oh * OW;
      if (ih < 0 || ih >= H) { std::memset(d, 0, sizeof(float) * OW); continue; }
      const float* srow = xc + (size_t)ih * W;
      for (int ow = 0; ow < lo; ow++) d[ow] = 0.0f;
      if (sw == 1) std::memcpy(d + lo, srow + lo + off, sizeof(float) * (hi - lo));
      else for (int ow = lo; ow < hi; ow++) d[ow] = srow[ow * sw + off];
      for (int ow = hi; ow < OW; ow++) d[ow] = 0.0f;
    }
  }
}
// Rows [r0, r1) of im2col(x) transposed into one packed panel of `unit` columns: row p of the
// panel (an output pixel) holds those rows' values at p, a zero past r1. Each value is read
// straight from x at a per-row offset: building the im2col rows first and then transposing them
// into the panel took 60% of a transposed convolution's weight gradient (the generator's 64 -> 32
// layer: 1.9 of 2.9 ms). The values are im2colRows's, so the products that read them do not change.
CLONES static void im2colPanel(const float* x, int H, int W, int KH, int KW, int sh, int sw, int ph, int pw, int OH, int OW, int r0, int r1, int unit, float* d) {
  int off[64], ki[64], kj[64];
  const int n = std::min(r1 - r0, 64);
  for (int c = 0; c < n; c++) {
    const int r = r0 + c, ch = r / (KH * KW);
    ki[c] = (r / KW) % KH; kj[c] = r % KW;
    off[c] = (ch * H + ki[c]) * W + kj[c];
  }
  // Rows of a 4-wide filter (the generator's 4x4) come in fours that lie side by side in x.
  const bool quads = KW % 4 == 0 && r0 % 4 == 0 && n % 4 == 0;
  for (int oh = 0; oh < OH; oh++) {
    const int y0 = oh * sh - ph;
    for (int ow = 0; ow < OW; ow++) {
      const int x0 = ow * sw - pw;
      float* row = d + ((size_t)oh * OW + ow) * unit;
      // (an offset, not a pointer: at a border it lies before x)
      const ptrdiff_t at = (ptrdiff_t)y0 * W + x0;
      if (y0 >= 0 && y0 + KH <= H && x0 >= 0 && x0 + KW <= W) {
        if (quads) for (int c = 0; c < n; c += 4) std::memcpy(row + c, x + at + off[c], 4 * sizeof(float));
        else for (int c = 0; c < n; c++) row[c] = x[at + off[c]];
      } else {
        for (int c = 0; c < n; c++) {
          const int iy = y0 + ki[c], ix = x0 + kj[c];
          row[c] = iy >= 0 && iy < H && ix >= 0 && ix < W ? x[at + off[c]] : 0.0f;
        }
      }
      for (int c = n; c < unit; c++) row[c] = 0.0f;
    }
  }
}
// x += col2im(cols) (rows ld floats apart); every pixel gets its contributions in (c, i, j, oh, ow) order.
CLONES static void col2imLd(const float* cols, int ld, int C, int H, int W, int KH, int KW, int sh, int sw, int ph, int pw, int OH, int OW, float* x) {
  for (int c = 0; c < C; c++) {
    float* xc = x + (size_t)c * H * W;
    for (int i = 0; i < KH; i++) for (int j = 0; j < KW; j++) {
      const float* src = cols + (size_t)((c * KH + i) * KW + j) * ld;
      int lo, hi;
      insideColumns(W, sw, pw, j, OW, &lo, &hi);
      const int off = j - pw;
      for (int oh = 0; oh < OH; oh++) {
        const int ih = oh * sh - ph + i;
        if (ih < 0 || ih >= H) continue;
        float* drow = xc + (size_t)ih * W;
        const float* srow = src + (size_t)oh * OW;
        if (sw == 1) { float* d = drow + off; for (int ow = lo; ow < hi; ow++) d[ow] += srow[ow]; }
        else for (int ow = lo; ow < hi; ow++) drow[ow * sw + off] += srow[ow];
      }
    }
  }
}
static AI bool isPointwise(int KH, int KW, int sh, int sw, int ph, int pw) { return KH == 1 && KW == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
static AI int firstNet(int u, int nImg, bool shared) { return shared ? 0 : u / nImg; }
static AI int lastNet(int u, int nNet, int nImg, bool shared) { return shared ? nNet : u / nImg + 1; }
static AI size_t align16(size_t n) { return (n + 15) & ~(size_t)15; }

static double k_im2col(Base B, const double* a) {
  const int C = (int)a[1], H = (int)a[2], W = (int)a[3], KH = (int)a[4], KW = (int)a[5], sh = (int)a[6], sw = (int)a[7], ph = (int)a[8], pw = (int)a[9], OH = (int)a[10], OW = (int)a[11];
  im2colRows(F(B, a[0]), C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, F(B, a[12]), OH * OW, 0, C * KH * KW);
  return 0;
}
static double k_col2im(Base B, const double* a) {
  const int C = (int)a[1], H = (int)a[2], W = (int)a[3], KH = (int)a[4], KW = (int)a[5], sh = (int)a[6], sw = (int)a[7], ph = (int)a[8], pw = (int)a[9], OH = (int)a[10], OW = (int)a[11];
  col2imLd(F(B, a[0]), OH * OW, C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, F(B, a[12]));
  return 0;
}
static double k_conv2dWorkFloats(Base, const double* a) {
  const int C = (int)a[1], H = (int)a[2], W = (int)a[3], KH = (int)a[5], KW = (int)a[6], sh = (int)a[7], sw = (int)a[8], ph = (int)a[9], pw = (int)a[10];
  return (double)(align16((size_t)C * KH * KW * outSize(H, KH, sh, ph) * outSize(W, KW, sw, pw)) + 64);
}
struct ZooConv {
  int nNet, nImg; bool shared; int C, H, W, O, KH, KW, sh, sw, ph, pw, OH, OW, P, CKK;
  size_t imgIn, imgOut; bool direct;
  explicit ZooConv(const double* a)
      : nNet((int)a[0]), nImg((int)a[1]), shared(a[2] != 0), C((int)a[3]), H((int)a[4]), W((int)a[5]), O((int)a[6]), KH((int)a[7]), KW((int)a[8]),
        sh((int)a[9]), sw((int)a[10]), ph((int)a[11]), pw((int)a[12]) {
    OH = outSize(H, KH, sh, ph); OW = outSize(W, KW, sw, pw); P = OH * OW; CKK = C * KH * KW;
    imgIn = (size_t)C * H * W; imgOut = (size_t)O * P; direct = isPointwise(KH, KW, sh, sw, ph, pw);
  }
  ZooConv(int nImg_, int C_, int H_, int W_, int O_, int KH_, int KW_, int sh_, int sw_, int ph_, int pw_)
      : nNet(1), nImg(nImg_), shared(false), C(C_), H(H_), W(W_), O(O_), KH(KH_), KW(KW_), sh(sh_), sw(sw_), ph(ph_), pw(pw_) {
    OH = outSize(H, KH, sh, ph); OW = outSize(W, KW, sw, pw); P = OH * OW; CKK = C * KH * KW;
    imgIn = (size_t)C * H * W; imgOut = (size_t)O * P; direct = isPointwise(KH, KW, sh, sw, ph, pw);
  }
};
// The zoo convolutions lay a run of images side by side, [rows, n * P], so that one GEMM of
// N = n * P columns serves them all instead of n thin ones. A run holds images that feed the same
// networks (all of them when the images are shared, else one network's), at most CHUNK_FLOATS
// of columns; its size comes from the shapes alone, so results do not depend on the split.
static const size_t CHUNK_FLOATS = 1 << 18;
// Images per run for the weight gradient, whose product sums over the run's columns: its size
// decides the summation order, so it is fixed by the shapes and never retuned.
static AI int weightRunImages(const ZooConv& g) { return (int)std::max<size_t>(1, CHUNK_FLOATS / ((size_t)g.CKK * g.P)); }
// The forward and input-gradient runs also fill whole NR-column panels where an image has fewer
// pixels than a panel (4x4 maps in a ResNet's last stage): 3 images of 16 pixels left the second
// panel half empty, and rounding to 4 took the 512-channel convolutions from 190 to 250 GFLOP/s.
// There each output is one dot product over K whatever the run, so the bits do not change.
static AI int runImages(const ZooConv& g) {
  const int whole = isa.NR / std::gcd(g.P, isa.NR);
  return (weightRunImages(g) + whole - 1) / whole * whole;
}
static AI int runEnd(const ZooConv& g, int u, int u1) {
  int end = std::min(u1, u + runImages(g));
  if (!g.shared) end = std::min(end, (u / g.nImg + 1) * g.nImg);
  return end;
}
// Columns of images [u, u + n) side by side: cols [CKK, n * P].
static void unfoldRun(const ZooConv& g, const float* x, int u, int n, float* cols) {
  const int NN = n * g.P;
  for (int i = 0; i < n; i++) {
    const float* xi = x + (size_t)(u + i) * g.imgIn;
    if (g.direct) for (int c = 0; c < g.C; c++) std::memcpy(cols + (size_t)c * NN + (size_t)i * g.P, xi + (size_t)c * g.P, sizeof(float) * g.P);
    else im2colRows(xi, g.C, g.H, g.W, g.KH, g.KW, g.sh, g.sw, g.ph, g.pw, g.OH, g.OW, cols + (size_t)i * g.P, NN, 0, g.CKK);
  }
}

#ifdef PG_X86
// A direct convolution for layers with few output channels (a small CNN's 16): one AVX-512
// vector holds 16 channels of one output pixel, and each filter tap is one FMA per pixel with
// the input value broadcast. im2col and packing cost more than the arithmetic of these layers
// (they were half of a small-CNN step). The arithmetic is the GEMM path's, term for term: each
// output is an FMA chain over (c, i, j) from zero, restarted every KC terms and added to the
// running sum, padding read as +0 as im2col writes it, then + bias and ReLU, so the bits match
// the im2col path on every ISA.
// The most channels a direct loop vectorises over (output channels forward and in the weight
// gradient, input channels in the input gradient): two vectors.
static const int DIRECT_MAX_CHANNELS = 32;
static const int DIRECT_Q = 8;
// Below this many taps per output (a first layer on one channel: 9) the GEMM path is faster: the
// direct path's per-pixel transposition of its outputs then outweighs the arithmetic.
static const int DIRECT_MIN_TAPS = 64;
// A block is DIRECT_Q consecutive output pixels of one image, across rows where a row is shorter
// (a 4x4 map): 8 independent FMA chains hide the FMA's latency, where 4 (one row's worth) left the
// loop at half its rate. Past the image's last pixel a block repeats it and drops the result.
__attribute__((target("avx512f,fma")))
static void directConvForward512(const ZooConv& g, const float* x, const float* w, const float* bias, bool relu, float* y, int u0, int u1, bool accumulate = false) {
  const int chunks = (g.O + 15) / 16, Hp = g.H + 2 * g.ph, Wp = g.W + 2 * g.pw;
  thread_local std::vector<float> bufW, bufX;
  thread_local std::vector<int> koff, pofs;
  koff.resize(g.CKK); pofs.resize(g.P);
  for (int k = 0; k < g.CKK; k++) koff[k] = (k / (g.KH * g.KW)) * Hp * Wp + ((k / g.KW) % g.KH) * Wp + k % g.KW;
  for (int p = 0; p < g.P; p++) pofs[p] = (p / g.OW) * g.sh * Wp + (p % g.OW) * g.sw;
  // Interior rewritten per image, border left +0.
  const size_t plane = (size_t)g.C * Hp * Wp;
  float* xp = scratch(bufX, plane);
  std::memset(xp, 0, sizeof(float) * plane);
  const int bLo = firstNet(u0, g.nImg, g.shared), bHi = lastNet(u1 - 1, g.nNet, g.nImg, g.shared);
  const size_t perNet = (size_t)g.CKK * chunks * 16;
  float* wt = scratch(bufW, perNet * (bHi - bLo));
  for (int b = bLo; b < bHi; b++) {
    float* d = wt + (b - bLo) * perNet;
    for (int k = 0; k < g.CKK; k++) for (int o = 0; o < chunks * 16; o++) d[(size_t)k * chunks * 16 + o] = o < g.O ? w[((size_t)b * g.O + o) * g.CKK + k] : 0.0f;
  }
  alignas(64) float tile[DIRECT_Q][16];
  for (int u = u0; u < u1; u++) {
    const float* xi = x + (size_t)u * g.imgIn;
    for (int c = 0; c < g.C; c++) for (int h = 0; h < g.H; h++)
      std::memcpy(xp + (size_t)c * Hp * Wp + (size_t)(h + g.ph) * Wp + g.pw, xi + ((size_t)c * g.H + h) * g.W, sizeof(float) * g.W);
    for (int b = firstNet(u, g.nImg, g.shared); b < lastNet(u, g.nNet, g.nImg, g.shared); b++) {
      const int k = g.shared ? u : u % g.nImg;
      float* yb = y + ((size_t)b * g.nImg + k) * g.imgOut;
      const float* wb = wt + (b - bLo) * perNet;
      for (int ch = 0; ch < chunks; ch++) {
        const int lanes = std::min(16, g.O - ch * 16);
        for (int p0 = 0; p0 < g.P; p0 += DIRECT_Q) {
          const float* xq[DIRECT_Q];
#pragma GCC unroll 8
          for (int q = 0; q < DIRECT_Q; q++) xq[q] = xp + pofs[std::min(p0 + q, g.P - 1)];
          __m512 tot[DIRECT_Q];
          for (int pc = 0; pc < g.CKK; pc += KC) {
            __m512 acc[DIRECT_Q];
#pragma GCC unroll 8
            for (int q = 0; q < DIRECT_Q; q++) acc[q] = _mm512_setzero_ps();
            const int pe = std::min(g.CKK, pc + KC);
            for (int t = pc; t < pe; t++) {
              const __m512 wv = _mm512_loadu_ps(wb + (size_t)t * chunks * 16 + ch * 16);
              const int kt = koff[t];
#pragma GCC unroll 8
              for (int q = 0; q < DIRECT_Q; q++) acc[q] = _mm512_fmadd_ps(wv, _mm512_set1_ps(xq[q][kt]), acc[q]);
            }
#pragma GCC unroll 8
            for (int q = 0; q < DIRECT_Q; q++) tot[q] = pc == 0 ? acc[q] : _mm512_add_ps(tot[q], acc[q]);
          }
#pragma GCC unroll 8
          for (int q = 0; q < DIRECT_Q; q++) _mm512_store_ps(tile[q], tot[q]);
          const int nq = std::min(DIRECT_Q, g.P - p0);
          for (int o = 0; o < lanes; o++) {
            const int oc = ch * 16 + o;
            const float bv = bias == nullptr ? 0.0f : bias[(size_t)b * g.O + oc];
            float* row = yb + (size_t)oc * g.P + p0;
            // Accumulating (a single KC block, no bias): the GEMM path's C + acc.
            if (accumulate) for (int q = 0; q < nq; q++) row[q] = row[q] + tile[q][o];
            else for (int q = 0; q < nq; q++) { const float v = tile[q][o] + bv; row[q] = relu ? (v > 0 ? v : 0.0f) : v; }
          }
        }
      }
    }
  }
}
// The input gradient of the same layers, directly: one vector holds 16 input channels of one
// input pixel. im2col's path computes cols = W^T dy (one FMA chain over the output channels per
// column, networks summed in order where the image is shared), then adds each pixel's columns
// into dx in (c, i, j) order (col2im); this adds, per pixel, the chains of its taps in the same
// order, to 0 or to dx, so the bits are the same. Pixels of one row and one stride phase share
// their taps, and their output columns are consecutive.
static const int DIRECT_BWD_Q = 8;
// 16 vectors of 16 floats transposed in registers (unpack, then two rounds of 128-bit lane
// shuffles): rows of 16 channels of one pixel become rows of 16 pixels of one channel.
__attribute__((target("avx512f")))
static AI void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; i++) { t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]); t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]); }
  for (int i = 0; i < 4; i++) {
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]), c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c)); r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d)); r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int k = 0; k < 4; k++) {
    t[k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x88); t[4 + k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xdd);
    t[8 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x88); t[12 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xdd);
  }
  for (int k = 0; k < 4; k++) {
    r[k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0x88); r[8 + k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0xdd);
    r[4 + k] = _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0x88); r[12 + k] = _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0xdd);
  }
}
static AI __mmask16 firstLanes(int n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }
// Each channel's sum of its plane, 16 channels a vector: 16 pixels of each through transpose16,
// then added one pixel after another, so every channel sums in the scalar loop's order (the same
// bits) with 16 chains advancing at once instead of one (a probe generator's bias gradient over
// 64 images of 32x32 was 0.65 ms).
__attribute__((target("avx512f")))
static void sumChannelPlanes512(const float* xs, float* o, int n2, int n3) {
  for (int c0 = 0; c0 < n2; c0 += 16) {
    const int lanes = std::min(16, n2 - c0);
    __m512 t = _mm512_setzero_ps();
    for (int p0 = 0; p0 < n3; p0 += 16) {
      const int np = std::min(16, n3 - p0);
      const __mmask16 m = firstLanes(np);
      __m512 v[16];
      for (int c = 0; c < 16; c++) v[c] = c < lanes ? _mm512_maskz_loadu_ps(m, xs + (size_t)(c0 + c) * n3 + p0) : _mm512_setzero_ps();
      transpose16(v);
      for (int p = 0; p < np; p++) t = _mm512_add_ps(t, v[p]);
    }
    const __mmask16 keep = firstLanes(lanes);
    _mm512_mask_storeu_ps(o + c0, keep, _mm512_add_ps(_mm512_maskz_loadu_ps(keep, o + c0), t));
  }
}
// One row of dx's channels [ch * 16, + lanes) and the row buffer T ([pixel][16 channels]):
// 16 pixels at a time through transpose16, in place of 16 scalar moves per pixel (which took
// as long as the arithmetic of a 16-channel layer's input gradient).
__attribute__((target("avx512f")))
static void rowToPixels(const float* dxRow, size_t channelStride, int lanes, int W, float* T) {
  for (int p0 = 0; p0 < W; p0 += 16) {
    const __mmask16 m = firstLanes(W - p0);
    __m512 v[16];
    for (int c = 0; c < 16; c++) v[c] = c < lanes ? _mm512_maskz_loadu_ps(m, dxRow + c * channelStride + p0) : _mm512_setzero_ps();
    transpose16(v);
    for (int p = 0; p < 16; p++) _mm512_store_ps(T + (size_t)(p0 + p) * 16, v[p]);
  }
}
__attribute__((target("avx512f")))
static void pixelsToRow(const float* T, int lanes, int W, float* dxRow, size_t channelStride) {
  for (int p0 = 0; p0 < W; p0 += 16) {
    const __mmask16 m = firstLanes(W - p0);
    __m512 v[16];
    for (int p = 0; p < 16; p++) v[p] = _mm512_load_ps(T + (size_t)(p0 + p) * 16);
    transpose16(v);
    for (int c = 0; c < lanes; c++) _mm512_mask_storeu_ps(dxRow + c * channelStride + p0, m, v[c]);
  }
}
// One tap's columns for a block of the input gradient: per network, an FMA chain over the
// output channels from zero, slot q reading dy at off[q]; networks added in order.
__attribute__((target("avx512f,fma")))
static AI void tapColumns(const ZooConv& g, const float* dy, const float* wv, size_t perNet, int bLo, int nb0, int nb1, int k, int t, int ch,
                          const int off[DIRECT_BWD_Q], __m512 col[DIRECT_BWD_Q]) {
  const int chunks = (g.C + 15) / 16, taps = g.KH * g.KW;
  for (int b = nb0; b < nb1; b++) {
    const float* d = dy + ((size_t)b * g.nImg + k) * g.imgOut;
    const float* wb = wv + (b - bLo) * perNet + (size_t)t * chunks * 16 + ch * 16;
    __m512 a[DIRECT_BWD_Q];
#pragma GCC unroll 8
    for (int q = 0; q < DIRECT_BWD_Q; q++) a[q] = _mm512_setzero_ps();
    for (int o = 0; o < g.O; o++) {
      const __m512 wo = _mm512_loadu_ps(wb + (size_t)o * taps * chunks * 16);
      const float* dyo = d + (size_t)o * g.P;
#pragma GCC unroll 8
      for (int q = 0; q < DIRECT_BWD_Q; q++) a[q] = _mm512_fmadd_ps(wo, _mm512_set1_ps(dyo[off[q]]), a[q]);
    }
#pragma GCC unroll 8
    for (int q = 0; q < DIRECT_BWD_Q; q++) col[q] = b == nb0 ? a[q] : _mm512_add_ps(col[q], a[q]);
  }
}
// directConvBackwardInput512 for maps narrower than a block: a block is every pixel of one stride
// phase in R rows a stride apart (the same taps, output rows one apart). Per pixel the terms and
// their order are the one-row loop's: per valid tap, each network's chain over the output
// channels from zero, networks added in order, taps added in (i, j) order; so are the bits.
// Pixels [0, P) of `lanes` channels (channelStride apart) as rows of 16 channels, rowStride
// floats apart, lanes past `lanes` zero: 16 pixels at a time through transpose16. A scalar copy
// read 16 channels a plane apart per pixel, which for 32x32 planes (4 KiB apart) fell in one
// L1 set and missed on every read (two thirds of the probe generator's last weight gradient).
__attribute__((target("avx512f")))
static void channelsToPixels(const float* src, size_t channelStride, int lanes, int P, float* T, int rowStride) {
  for (int p0 = 0; p0 < P; p0 += 16) {
    const int np = std::min(16, P - p0);
    const __mmask16 m = firstLanes(np);
    __m512 v[16];
    for (int c = 0; c < 16; c++) v[c] = c < lanes ? _mm512_maskz_loadu_ps(m, src + c * channelStride + p0) : _mm512_setzero_ps();
    transpose16(v);
    for (int p = 0; p < np; p++) _mm512_storeu_ps(T + (size_t)(p0 + p) * rowStride, v[p]);
  }
}
__attribute__((target("avx512f,fma")))
static void directConvBackwardInputRows512(const ZooConv& g, const float* dy, const float* wv, size_t perNet, int bLo, float* dx, bool acc, int u0, int u1, int R, float* T, size_t rowFloats) {
  const int chunks = (g.C + 15) / 16;
  const size_t channelStride = (size_t)g.H * g.W;
  int rows[DIRECT_BWD_Q];
  for (int u = u0; u < u1; u++) {
    float* dxu = dx + (size_t)u * g.imgIn;
    const int nb0 = firstNet(u, g.nImg, g.shared), nb1 = lastNet(u, g.nNet, g.nImg, g.shared);
    const int k = g.shared ? u : u % g.nImg;
    for (int ch = 0; ch < chunks; ch++) {
      const int lanes = std::min(16, g.C - ch * 16);
      for (int res = 0; res < g.sh; res++) for (int first = res; first < g.H; first += R * g.sh) {
        int nr = 0;
        for (int ih = first; ih < g.H && nr < R; ih += g.sh) rows[nr++] = ih;
        for (int r = 0; r < nr; r++) {
          float* Tr = T + (size_t)r * rowFloats;
          if (acc) rowToPixels(dxu + ((size_t)ch * 16 * g.H + rows[r]) * g.W, channelStride, lanes, g.W, Tr);
        }
        for (int phase = 0; phase < g.sw && phase < g.W; phase++) {
          const int npp = (g.W - phase + g.sw - 1) / g.sw, nq = nr * npp;
          // Each slot's row in the group and pixel in the row, worked out once for every tap.
          int rq[DIRECT_BWD_Q], cq[DIRECT_BWD_Q];
          for (int q = 0; q < DIRECT_BWD_Q; q++) { rq[q] = std::min(q / npp, nr - 1); cq[q] = q % npp; }
          __m512 sum[DIRECT_BWD_Q];
#pragma GCC unroll 8
          for (int q = 0; q < DIRECT_BWD_Q; q++) sum[q] = acc && q < nq ? _mm512_load_ps(T + (size_t)rq[q] * rowFloats + (size_t)(phase + cq[q] * g.sw) * 16) : _mm512_setzero_ps();
          for (int i = 0; i < g.KH; i++) {
            const int ohn0 = rows[0] + g.ph - i;
            if (((ohn0 % g.sh) + g.sh) % g.sh != 0) continue;
            // The output row of each of the group's rows for this tap, -1 outside the output.
            int ohr[DIRECT_BWD_Q];
            for (int r = 0; r < nr; r++) { const int ohn = rows[r] + g.ph - i; ohr[r] = ohn >= 0 && ohn / g.sh < g.OH ? ohn / g.sh : -1; }
            for (int j = 0; j < g.KW; j++) {
              const int own = phase + g.pw - j;
              if (((own % g.sw) + g.sw) % g.sw != 0) continue;
              const int ow0 = own >= 0 ? own / g.sw : -((-own) / g.sw);
              // Each pixel's output row and column, clamped inside the output; invalid ones are left out of the sums.
              int off[DIRECT_BWD_Q];
              bool valid[DIRECT_BWD_Q];
              bool any = false;
#pragma GCC unroll 8
              for (int q = 0; q < DIRECT_BWD_Q; q++) {
                const int oh = ohr[rq[q]], ow = ow0 + cq[q];
                valid[q] = q < nq && oh >= 0 && ow >= 0 && ow < g.OW;
                any = any || valid[q];
                off[q] = std::max(oh, 0) * g.OW + std::min(std::max(ow, 0), g.OW - 1);
              }
              if (!any) continue;
              __m512 col[DIRECT_BWD_Q];
              tapColumns(g, dy, wv, perNet, bLo, nb0, nb1, k, i * g.KW + j, ch, off, col);
#pragma GCC unroll 8
              for (int q = 0; q < DIRECT_BWD_Q; q++) sum[q] = _mm512_mask_add_ps(sum[q], valid[q] ? (__mmask16)0xFFFF : (__mmask16)0, sum[q], col[q]);
            }
          }
#pragma GCC unroll 8
          for (int q = 0; q < DIRECT_BWD_Q; q++) if (q < nq) _mm512_store_ps(T + (size_t)(q / npp) * rowFloats + (size_t)(phase + (q % npp) * g.sw) * 16, sum[q]);
        }
        for (int r = 0; r < nr; r++) pixelsToRow(T + (size_t)r * rowFloats, lanes, g.W, dxu + ((size_t)ch * 16 * g.H + rows[r]) * g.W, channelStride);
      }
    }
  }
}
__attribute__((target("avx512f,fma")))
static void directConvBackwardInput512(const ZooConv& g, const float* dy, const float* w, float* dx, bool acc, int u0, int u1) {
  const int chunks = (g.C + 15) / 16, taps = g.KH * g.KW;
  thread_local std::vector<float> bufW, bufT;
  const int bLo = firstNet(u0, g.nImg, g.shared), bHi = lastNet(u1 - 1, g.nNet, g.nImg, g.shared);
  // wv[b][o][tap][c]: the filters of one tap and output channel over the input channels.
  const size_t perNet = (size_t)g.O * taps * chunks * 16;
  float* wv = scratch(bufW, perNet * (bHi - bLo));
  for (int b = bLo; b < bHi; b++) {
    float* d = wv + (b - bLo) * perNet;
    for (int o = 0; o < g.O; o++) for (int t = 0; t < taps; t++) for (int c = 0; c < chunks * 16; c++)
      d[(((size_t)o * taps + t) * chunks * 16) + c] = c < g.C ? w[(((size_t)b * g.O + o) * g.C + c) * taps + t] : 0.0f;
  }
  // The row's pixels, 16 channels each, padded to whole transpositions and a block's overrun.
  const size_t rowFloats = (size_t)((g.W + 15) / 16 * 16 + DIRECT_BWD_Q * g.sw) * 16 + 16;
  // Rows narrower than a block (an 8x8 map at stride 2: 4 pixels per phase) run several at once,
  // rows a stride apart (which share their taps), so that the block's 8 FMA chains are all used.
  const int perRow = (g.W + g.sw - 1) / g.sw;
  const int R = perRow >= DIRECT_BWD_Q ? 1 : std::max(1, std::min(DIRECT_BWD_Q / perRow, (g.H + g.sh - 1) / g.sh));
  float* T0 = scratch(bufT, rowFloats * R + 16);
  T0 = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(T0) + 63) & ~(uintptr_t)63);
  if (R > 1) { directConvBackwardInputRows512(g, dy, wv, perNet, bLo, dx, acc, u0, u1, R, T0, rowFloats); return; }
  float* T = T0;
  for (int u = u0; u < u1; u++) {
    float* dxu = dx + (size_t)u * g.imgIn;
    const int nb0 = firstNet(u, g.nImg, g.shared), nb1 = lastNet(u, g.nNet, g.nImg, g.shared);
    const int k = g.shared ? u : u % g.nImg;
    for (int ch = 0; ch < chunks; ch++) {
      const int lanes = std::min(16, g.C - ch * 16);
      for (int ih = 0; ih < g.H; ih++) {
        float* dxRow = dxu + ((size_t)ch * 16 * g.H + ih) * g.W;
        const size_t channelStride = (size_t)g.H * g.W;
        if (acc) rowToPixels(dxRow, channelStride, lanes, g.W, T);
        for (int phase = 0; phase < g.sw; phase++) for (int iw0 = phase; iw0 < g.W; iw0 += DIRECT_BWD_Q * g.sw) {
          const int nq = std::min(DIRECT_BWD_Q, (g.W - iw0 + g.sw - 1) / g.sw);
          __m512 sum[DIRECT_BWD_Q];
#pragma GCC unroll 8
          for (int q = 0; q < DIRECT_BWD_Q; q++) sum[q] = acc ? _mm512_load_ps(T + (size_t)(iw0 + q * g.sw) * 16) : _mm512_setzero_ps();
          for (int i = 0; i < g.KH; i++) {
            const int ohn = ih + g.ph - i;
            if (ohn < 0 || ohn % g.sh != 0 || ohn / g.sh >= g.OH) continue;
            const int oh = ohn / g.sh;
            for (int j = 0; j < g.KW; j++) {
              const int own = iw0 + g.pw - j;
              if (own % g.sw != 0 && own >= 0) continue;
              if (own < 0 && (-own) % g.sw != 0) continue;
              // Pixel q reads output column ow0 + q where that lies inside the output.
              const int ow0 = own >= 0 ? own / g.sw : -((-own) / g.sw);
              int qLo = std::max(0, -ow0), qHi = std::min(nq, g.OW - ow0);
              if (qHi <= qLo) continue;
              int off[DIRECT_BWD_Q];
#pragma GCC unroll 8
              for (int q = 0; q < DIRECT_BWD_Q; q++) off[q] = oh * g.OW + std::min(std::max(ow0 + q, 0), g.OW - 1);
              __m512 col[DIRECT_BWD_Q];
              tapColumns(g, dy, wv, perNet, bLo, nb0, nb1, k, i * g.KW + j, ch, off, col);
              // Unrolled with a mask per pixel, so that sum and col stay in registers (a loop over
              // [qLo, qHi) kept them on the stack).
#pragma GCC unroll 8
              for (int q = 0; q < DIRECT_BWD_Q; q++) sum[q] = _mm512_mask_add_ps(sum[q], q >= qLo && q < qHi ? (__mmask16)0xFFFF : (__mmask16)0, sum[q], col[q]);
            }
          }
          // Past the row's last pixel a block's slots lie in T's padding.
#pragma GCC unroll 8
          for (int q = 0; q < DIRECT_BWD_Q; q++) _mm512_store_ps(T + (size_t)(iw0 + q * g.sw) * 16, sum[q]);
        }
        pixelsToRow(T, lanes, g.W, dxRow, channelStride);
      }
    }
  }
}
// The input gradient of layers with few input channels (a first layer on one channel: the
// probes' gradient, summed over every network), vectorised over 16 pixels of one row and one
// stride phase instead of channels. Per pixel the terms and their order are the GEMM path's as
// above: per tap, each network's FMA chain over the output channels from zero, networks added in
// order (into cols, [tap][row][phase][pixel], while one network's dy stays in cache), then the
// taps added in order to 0 or to dx. Eight rows a stride apart (output rows one apart) run side
// by side to hide the FMA's latency; lanes past the output's edges are left out of the sums.
static const int DIRECT_PIX_ROWS = 8;
__attribute__((target("avx512f,fma")))
static void directConvBackwardInputPixels512(const ZooConv& g, const float* dy, const float* w, float* dx, bool acc, int u0, int u1, const float* mask) {
  thread_local std::vector<float> bufC, bufM;
  float* masked = mask == nullptr ? nullptr : scratch(bufM, g.imgOut);
  // A row's pixels by phase, each phase in whole blocks of 16.
  const int perPhase = ((g.W + g.sw - 1) / g.sw + 15) / 16 * 16, rowFloats = perPhase * g.sw;
  const int rowsPadded = (g.H + DIRECT_PIX_ROWS * g.sh);
  float* cols = scratch(bufC, (size_t)g.CKK * rowsPadded * rowFloats + 16);
  cols = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(cols) + 63) & ~(uintptr_t)63);
  alignas(64) float tmp[16];
  // The output rows and lanes tap (c, i, j) reaches from input rows base + e sh and pixels
  // iw0 + q sw, or false where it reaches none.
  struct Reach { int oh0, eLo, eHi, ow0; __mmask16 m; };
  std::vector<Reach> reaches;
  auto reach = [&](int i, int j, int base, int rows, int iw0, int nq, Reach* r) {
    const int ohn = base + g.ph - i, own = iw0 + g.pw - j;
    if ((ohn % g.sh + g.sh) % g.sh != 0 || (own % g.sw + g.sw) % g.sw != 0) return false;
    r->oh0 = ohn >= 0 ? ohn / g.sh : -((-ohn) / g.sh);
    r->eLo = std::max(0, -r->oh0); r->eHi = std::min(rows, g.OH - r->oh0);
    r->ow0 = own >= 0 ? own / g.sw : -((-own) / g.sw);
    const int qLo = std::max(0, -r->ow0), qHi = std::min(nq, g.OW - r->ow0);
    r->m = (__mmask16)(firstLanes(std::max(qHi, 0)) & ~firstLanes(qLo));
    return r->eHi > r->eLo && qHi > qLo;
  };
  for (int u = u0; u < u1; u++) {
    float* dxu = dx + (size_t)u * g.imgIn;
    const int nb0 = firstNet(u, g.nImg, g.shared), nb1 = lastNet(u, g.nNet, g.nImg, g.shared);
    const int k = g.shared ? u : u % g.nImg;
    for (int b = nb0; b < nb1; b++) {
      const float* d = dy + ((size_t)b * g.nImg + k) * g.imgOut;
      if (mask != nullptr) {
        maskByPositive(d, mask + ((size_t)b * g.nImg + k) * g.imgOut, masked, g.imgOut);
        d = masked;
      }
      const float* wb = w + (size_t)b * g.O * g.CKK;
      for (int c = 0; c < g.C; c++) for (int i = 0; i < g.KH; i++) for (int j = 0; j < g.KW; j++) {
        const int t = (c * g.KH + i) * g.KW + j;
        for (int res = 0; res < g.sh; res++) for (int base = res; base < g.H; base += DIRECT_PIX_ROWS * g.sh) {
          const int rows = std::min(DIRECT_PIX_ROWS, (g.H - base + g.sh - 1) / g.sh);
          for (int phase = 0; phase < g.sw; phase++) for (int iw0 = phase, blk = 0; iw0 < g.W; iw0 += 16 * g.sw, blk++) {
            const int nq = std::min(16, (g.W - iw0 + g.sw - 1) / g.sw);
            Reach r;
            if (!reach(i, j, base, rows, iw0, nq, &r)) continue;
            size_t rowOff[DIRECT_PIX_ROWS];
#pragma GCC unroll 8
            for (int e = 0; e < DIRECT_PIX_ROWS; e++) rowOff[e] = (size_t)std::min(std::max(r.oh0 + e, r.oh0 + r.eLo), r.oh0 + r.eHi - 1) * g.OW + r.ow0;
            __m512 a[DIRECT_PIX_ROWS];
#pragma GCC unroll 8
            for (int e = 0; e < DIRECT_PIX_ROWS; e++) a[e] = _mm512_setzero_ps();
            for (int o = 0; o < g.O; o++) {
              const __m512 wv = _mm512_set1_ps(wb[(size_t)o * g.CKK + t]);
              const float* dyo = d + (size_t)o * g.P;
#pragma GCC unroll 8
              for (int e = 0; e < DIRECT_PIX_ROWS; e++) a[e] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(r.m, dyo + rowOff[e]), a[e]);
            }
            float* ct = cols + (((size_t)t * rowsPadded + base) * g.sw + phase) * perPhase + blk * 16;
            const size_t rowStep = (size_t)g.sh * rowFloats;
#pragma GCC unroll 8
            for (int e = 0; e < DIRECT_PIX_ROWS; e++) {
              float* cp = ct + e * rowStep;
              _mm512_store_ps(cp, b == nb0 ? a[e] : _mm512_add_ps(_mm512_load_ps(cp), a[e]));
            }
          }
        }
      }
    }
    for (int c = 0; c < g.C; c++)
    for (int res = 0; res < g.sh; res++) for (int base = res; base < g.H; base += DIRECT_PIX_ROWS * g.sh) {
      const int rows = std::min(DIRECT_PIX_ROWS, (g.H - base + g.sh - 1) / g.sh);
      for (int phase = 0; phase < g.sw; phase++) for (int iw0 = phase, blk = 0; iw0 < g.W; iw0 += 16 * g.sw, blk++) {
        const int nq = std::min(16, (g.W - iw0 + g.sw - 1) / g.sw);
        // The taps' reach is the block's, the same for each of its rows.
        reaches.resize(g.KH * g.KW);
        for (int i = 0; i < g.KH; i++) for (int j = 0; j < g.KW; j++) {
          Reach& r = reaches[i * g.KW + j];
          if (!reach(i, j, base, rows, iw0, nq, &r)) r.eHi = r.eLo = 0;
        }
        for (int e = 0; e < rows; e++) {
          float* row = dxu + ((size_t)c * g.H + base + e * g.sh) * g.W;
          for (int q = 0; q < 16; q++) tmp[q] = acc && q < nq ? row[iw0 + q * g.sw] : 0.0f;
          __m512 sum = _mm512_load_ps(tmp);
          for (int i = 0; i < g.KH; i++) for (int j = 0; j < g.KW; j++) {
            const Reach& r = reaches[i * g.KW + j];
            if (e < r.eLo || e >= r.eHi) continue;
            const int t = (c * g.KH + i) * g.KW + j;
            const float* cp = cols + (((size_t)t * rowsPadded + base + e * g.sh) * g.sw + phase) * perPhase + blk * 16;
            sum = _mm512_mask_add_ps(sum, r.m, sum, _mm512_load_ps(cp));
          }
          _mm512_store_ps(tmp, sum);
          for (int q = 0; q < nq; q++) row[iw0 + q * g.sw] = tmp[q];
        }
      }
    }
  }
}
static AI bool useDirectConvBackwardInputPixels(const ZooConv& g) {
  return std::strcmp(isa.name, "avx512") == 0 && g.C < 8 && g.O <= KC && !g.direct;
}
static AI bool useDirectConvBackwardInput(const ZooConv& g) {
  return std::strcmp(isa.name, "avx512") == 0 && g.C >= 8 && g.C <= DIRECT_MAX_CHANNELS && g.O <= KC && !g.direct;
}
#endif
static AI bool useDirectConv(const ZooConv& g) {
#ifdef PG_X86
  return std::strcmp(isa.name, "avx512") == 0 && g.O <= DIRECT_MAX_CHANNELS && g.CKK >= DIRECT_MIN_TAPS && !g.direct;
#else
  (void)g; return false;
#endif
}
#ifdef PG_X86
// A transposed convolution's input gradient (one network, its own images) is a direct
// convolution below DIRECT_MIN_TAPS too: the probe generator's last layer (16 -> 1, 3x3) has 9
// taps, and its GEMM of K = 9 columns ran 1.1x slower than the direct loop (the layer's forward
// and backward together: 3.5 -> 3.15 ms at K = 64 probes, both builds in one process).
static AI bool useDirectConvTransposedInput(const ZooConv& c) {
  return std::strcmp(isa.name, "avx512") == 0 && c.O <= DIRECT_MAX_CHANNELS && !c.direct;
}
#endif
#ifdef PG_X86
// Stride-1 convolutions on maps at least a vector wide (CNN Wild Park's 32x32 layers), vectorised
// over 16 pixels of one row instead of over channels. The channel-vectorised kernels above fill
// a quarter of each vector on a 4-channel layer and take the input gradient through a
// transposition per row: on the park's drawn layers (4-32 channels, 3x3-7x7) they ran at 10-70
// GFLOP/s, the input gradient at half the forward's rate, and the two were a ProbeGen step's
// cost. Here a pixel vector is one unaligned load whatever the channels, and PIX_CH channels
// share it. The arithmetic is the GEMM path's term for term, as the direct kernels': forward,
// each output is an FMA chain over (c, i, j) from zero restarted every KC terms and added to the
// running sum, then + bias and ReLU; input gradient, per tap an FMA chain over the output
// channels from zero, the taps added in (i, j) order to 0 or to dx, lanes outside the output
// left out.
static const int PIX_CH = 4, PIX_FWD_BLK = 4, PIX_PLANE_PAD = 16;
static AI bool usePixelConvForward(const ZooConv& g) {
  return std::strcmp(isa.name, "avx512") == 0 && g.sh == 1 && g.sw == 1 && g.OW >= 16 && !g.direct;
}
// One network per image: a shared image's gradient sums the networks' columns per tap first,
// which the channel-vectorised kernels keep.
static AI bool usePixelConvBackwardInput(const ZooConv& g) {
  return std::strcmp(isa.name, "avx512") == 0 && g.sh == 1 && g.sw == 1 && g.W >= 16 && !g.direct && g.O <= KC && (g.nNet == 1 || !g.shared);
}
__attribute__((target("avx512f,fma")))
static void pixelConvForward512(const ZooConv& g, const float* x, const float* w, const float* bias, bool relu, float* y, int u0, int u1) {
  const int Hp = g.H + 2 * g.ph, Wp = g.W + 2 * g.pw;
  const int perRow = (g.OW + 15) / 16, blocks = g.OH * perRow, groups = (g.O + PIX_CH - 1) / PIX_CH, Opad = groups * PIX_CH;
  thread_local std::vector<float> bufW, bufX;
  thread_local std::vector<int> koff;
  koff.resize(g.CKK);
  for (int t = 0; t < g.CKK; t++) koff[t] = (t / (g.KH * g.KW)) * Hp * Wp + ((t / g.KW) % g.KH) * Wp + t % g.KW;
  // A row's last block reads up to 15 floats past the padded plane; its lanes there are dropped.
  const size_t plane = (size_t)g.C * Hp * Wp;
  float* xp = scratch(bufX, plane + 32);
  std::memset(xp, 0, sizeof(float) * (plane + 32));
  const int bLo = firstNet(u0, g.nImg, g.shared), bHi = lastNet(u1 - 1, g.nNet, g.nImg, g.shared);
  // wt[b][t][o]: a tap's filters over the output channels, so a group's PIX_CH lie together.
  const size_t perNet = (size_t)g.CKK * Opad;
  float* wt = scratch(bufW, perNet * (bHi - bLo));
  for (int b = bLo; b < bHi; b++) {
    float* d = wt + (b - bLo) * perNet;
    for (int t = 0; t < g.CKK; t++) for (int o = 0; o < Opad; o++) d[(size_t)t * Opad + o] = o < g.O ? w[((size_t)b * g.O + o) * g.CKK + t] : 0.0f;
  }
  alignas(64) float tot[PIX_CH][PIX_FWD_BLK][16];
  for (int u = u0; u < u1; u++) {
    const float* xi = x + (size_t)u * g.imgIn;
    for (int c = 0; c < g.C; c++) for (int h = 0; h < g.H; h++)
      std::memcpy(xp + (size_t)c * Hp * Wp + (size_t)(h + g.ph) * Wp + g.pw, xi + ((size_t)c * g.H + h) * g.W, sizeof(float) * g.W);
    const int k = g.shared ? u : u % g.nImg;
    for (int b = firstNet(u, g.nImg, g.shared); b < lastNet(u, g.nNet, g.nImg, g.shared); b++) {
      float* yb = y + ((size_t)b * g.nImg + k) * g.imgOut;
      const float* wb = wt + (b - bLo) * perNet;
      for (int og = 0; og < groups; og++) for (int q0 = 0; q0 < blocks; q0 += PIX_FWD_BLK) {
        // Past the map's last block a slot repeats it and its result is dropped.
        int base[PIX_FWD_BLK];
#pragma GCC unroll 4
        for (int q = 0; q < PIX_FWD_BLK; q++) { const int blk = std::min(q0 + q, blocks - 1); base[q] = (blk / perRow) * Wp + (blk % perRow) * 16; }
        for (int pc = 0; pc < g.CKK; pc += KC) {
          __m512 acc[PIX_CH][PIX_FWD_BLK];
#pragma GCC unroll 16
          for (int n = 0; n < PIX_CH * PIX_FWD_BLK; n++) acc[n / PIX_FWD_BLK][n % PIX_FWD_BLK] = _mm512_setzero_ps();
          const int pe = std::min(g.CKK, pc + KC);
          for (int t = pc; t < pe; t++) {
            const float* xt = xp + koff[t];
            const float* wv = wb + (size_t)t * Opad + og * PIX_CH;
            __m512 xv[PIX_FWD_BLK];
#pragma GCC unroll 4
            for (int q = 0; q < PIX_FWD_BLK; q++) xv[q] = _mm512_loadu_ps(xt + base[q]);
#pragma GCC unroll 4
            for (int oo = 0; oo < PIX_CH; oo++) {
              const __m512 wo = _mm512_set1_ps(wv[oo]);
#pragma GCC unroll 4
              for (int q = 0; q < PIX_FWD_BLK; q++) acc[oo][q] = _mm512_fmadd_ps(wo, xv[q], acc[oo][q]);
            }
          }
#pragma GCC unroll 16
          for (int n = 0; n < PIX_CH * PIX_FWD_BLK; n++) {
            float* s = tot[n / PIX_FWD_BLK][n % PIX_FWD_BLK];
            const __m512 a = acc[n / PIX_FWD_BLK][n % PIX_FWD_BLK];
            _mm512_store_ps(s, pc == 0 ? a : _mm512_add_ps(_mm512_load_ps(s), a));
          }
        }
        const int nb = std::min(PIX_FWD_BLK, blocks - q0);
        for (int q = 0; q < nb; q++) {
          const int blk = q0 + q, oh = blk / perRow, ow0 = (blk % perRow) * 16;
          const __mmask16 m = firstLanes(g.OW - ow0);
          for (int oo = 0; oo < PIX_CH; oo++) {
            const int o = og * PIX_CH + oo;
            if (o >= g.O) break;
            const float bv = bias == nullptr ? 0.0f : bias[(size_t)b * g.O + o];
            __m512 v = _mm512_add_ps(_mm512_load_ps(tot[oo][q]), _mm512_set1_ps(bv));
            // max(v, +0) is v > 0 ? v : +0 (MAXPS returns its second operand on zeros and NaN).
            if (relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
            _mm512_mask_storeu_ps(yb + (size_t)o * g.P + (size_t)oh * g.OW + ow0, m, v);
          }
        }
      }
    }
  }
}
// CH input channels share each pixel vector of dy; BLK pixel blocks run side by side (CH x BLK
// FMA chains): a one-channel first layer takes 1 x 8, not 4 x 2 with three channels empty.
template <int CH, int BLK>
__attribute__((target("avx512f,fma")))
static void pixelConvBackwardInput512(const ZooConv& g, const float* dy, const float* w, float* dx, bool acc, int u0, int u1, const float* mask) {
  const int taps = g.KH * g.KW, groups = (g.C + CH - 1) / CH, Cpad = groups * CH;
  const int perRow = (g.W + 15) / 16, blocks = g.H * perRow;
  thread_local std::vector<float> bufW;
  const int bLo = firstNet(u0, g.nImg, g.shared), bHi = lastNet(u1 - 1, g.nNet, g.nImg, g.shared);
  // wt[b][tap][o][c]: one tap and output channel's filters over the input channels.
  const size_t perNet = (size_t)taps * g.O * Cpad;
  float* wt = scratch(bufW, perNet * (bHi - bLo));
  for (int b = bLo; b < bHi; b++) {
    float* d = wt + (b - bLo) * perNet;
    for (int t = 0; t < taps; t++) for (int o = 0; o < g.O; o++) for (int c = 0; c < Cpad; c++)
      d[((size_t)t * g.O + o) * Cpad + c] = c < g.C ? w[(((size_t)b * g.O + o) * g.C + c) * taps + t] : 0.0f;
  }
  // dy's planes copied PIX_PLANE_PAD floats apart: 32x32 planes lie 4 KiB apart, so a tap's
  // chain over the output channels read 32 lines of one L1 set, which holds 8.
  const size_t planeStride = (size_t)g.P + PIX_PLANE_PAD;
  thread_local std::vector<float> bufD;
  float* dyp = scratch(bufD, planeStride * g.O);
  for (int u = u0; u < u1; u++) {
    float* dxu = dx + (size_t)u * g.imgIn;
    const int b = firstNet(u, g.nImg, g.shared), k = g.shared ? u : u % g.nImg;
    const float* src = dy + ((size_t)b * g.nImg + k) * g.imgOut;
    // A fused ReLU's mask is applied in this copy, so dy is read once and left as it was.
    const float* yk = mask == nullptr ? nullptr : mask + ((size_t)b * g.nImg + k) * g.imgOut;
    for (int o = 0; o < g.O; o++) {
      if (yk == nullptr) std::memcpy(dyp + (size_t)o * planeStride, src + (size_t)o * g.P, sizeof(float) * g.P);
      else maskByPositive(src + (size_t)o * g.P, yk + (size_t)o * g.P, dyp + (size_t)o * planeStride, g.P);
    }
    const float* d = dyp;
    const float* wb = wt + (b - bLo) * perNet;
    for (int cg = 0; cg < groups; cg++) for (int q0 = 0; q0 < blocks; q0 += BLK) {
      const int nb = std::min(BLK, blocks - q0);
      int ih[BLK], iw0[BLK];
      __m512 sum[CH][BLK];
#pragma GCC unroll 8
      for (int q = 0; q < BLK; q++) {
        const int blk = std::min(q0 + q, blocks - 1);
        ih[q] = blk / perRow; iw0[q] = (blk % perRow) * 16;
        const __mmask16 m = q < nb ? firstLanes(g.W - iw0[q]) : (__mmask16)0;
#pragma GCC unroll 8
        for (int cc = 0; cc < CH; cc++) {
          const int c = std::min(cg * CH + cc, g.C - 1);
          sum[cc][q] = acc ? _mm512_maskz_loadu_ps(m, dxu + ((size_t)c * g.H + ih[q]) * g.W + iw0[q]) : _mm512_setzero_ps();
        }
      }
      for (int i = 0; i < g.KH; i++) for (int j = 0; j < g.KW; j++) {
        // Lanes whose output pixel (ih + ph - i, iw + pw - j) lies inside the output.
        __mmask16 m[BLK];
        const float* at[BLK];
        bool any = false;
#pragma GCC unroll 8
        for (int q = 0; q < BLK; q++) {
          const int oh = ih[q] + g.ph - i, ow0 = iw0[q] + g.pw - j;
          const int qLo = std::max(0, -ow0), qHi = std::min(std::min(16, g.W - iw0[q]), g.OW - ow0);
          m[q] = q < nb && oh >= 0 && oh < g.OH && qHi > qLo ? (__mmask16)(firstLanes(qHi) & ~firstLanes(qLo)) : (__mmask16)0;
          // (an offset, not a pointer into d: lanes before the row's start are masked off)
          at[q] = d + ((ptrdiff_t)std::min(std::max(oh, 0), g.OH - 1) * g.OW + ow0);
          any = any || m[q] != 0;
        }
        if (!any) continue;
        __m512 col[CH][BLK];
#pragma GCC unroll 8
        for (int n = 0; n < CH * BLK; n++) col[n / BLK][n % BLK] = _mm512_setzero_ps();
        const float* wv = wb + (size_t)(i * g.KW + j) * g.O * Cpad + cg * CH;
        for (int o = 0; o < g.O; o++) {
          __m512 dv[BLK];
#pragma GCC unroll 8
          for (int q = 0; q < BLK; q++) dv[q] = _mm512_maskz_loadu_ps(m[q], at[q] + (size_t)o * planeStride);
#pragma GCC unroll 8
          for (int cc = 0; cc < CH; cc++) {
            const __m512 wc = _mm512_set1_ps(wv[(size_t)o * Cpad + cc]);
#pragma GCC unroll 8
            for (int q = 0; q < BLK; q++) col[cc][q] = _mm512_fmadd_ps(wc, dv[q], col[cc][q]);
          }
        }
#pragma GCC unroll 8
        for (int n = 0; n < CH * BLK; n++) {
          const int cc = n / BLK, q = n % BLK;
          sum[cc][q] = _mm512_mask_add_ps(sum[cc][q], m[q], sum[cc][q], col[cc][q]);
        }
      }
      for (int q = 0; q < nb; q++) {
        const __mmask16 m = firstLanes(g.W - iw0[q]);
        for (int cc = 0; cc < CH; cc++) {
          const int c = cg * CH + cc;
          if (c >= g.C) break;
          _mm512_mask_storeu_ps(dxu + ((size_t)c * g.H + ih[q]) * g.W + iw0[q], m, sum[cc][q]);
        }
      }
    }
  }
}
#endif

// y[b,k] = conv(x, w[b]) (+ bias[b]), then ReLU when relu, for input images [u0, u1). Each
// network's filters are packed once per call, each run of images once.
static double k_conv2dForward(Base B, const double* a) {
  const ZooConv g(a);
  const float *x = F(B, a[13]), *w = F(B, a[14]); const float* bias = a[15] == 0 ? nullptr : F(B, a[15]); const bool relu = a[16] != 0;
  float* y = F(B, a[17]); const int u0 = (int)a[19], u1 = (int)a[20];
  if (u1 <= u0) return 0;
#ifdef PG_X86
  if (usePixelConvForward(g)) { pixelConvForward512(g, x, w, bias, relu, y, u0, u1); return 0; }
  if (useDirectConv(g)) { directConvForward512(g, x, w, bias, relu, y, u0, u1); return 0; }
#endif
  thread_local std::vector<float> bufA, bufB, bufC, bufT;
  const int bLo = firstNet(u0, g.nImg, g.shared), bHi = lastNet(u1 - 1, g.nNet, g.nImg, g.shared);
  const size_t aSize = packedFloats(g.O, g.CKK, isa.MR);
  float* pa = scratch(bufA, aSize * (bHi - bLo));
  for (int b = bLo; b < bHi; b++) isa.packA(false, w + (size_t)b * g.O * g.CKK, g.CKK, g.O, g.CKK, pa + (b - bLo) * aSize);
  const int most = std::min(u1 - u0, runImages(g));
  float* cols = scratch(bufC, (size_t)g.CKK * most * g.P);
  float* pb = scratch(bufB, packedFloats(most * g.P, g.CKK, isa.NR));
  float* out = scratch(bufT, (size_t)g.O * most * g.P);
  for (int u = u0; u < u1;) {
    const int end = runEnd(g, u, u1), n = end - u, NN = n * g.P;
    unfoldRun(g, x, u, n, cols);
    isa.packB(false, cols, NN, g.CKK, NN, pb);
    for (int b = firstNet(u, g.nImg, g.shared); b < lastNet(u, g.nNet, g.nImg, g.shared); b++) {
      isa.multiply(g.O, NN, g.CKK, pa + (b - bLo) * aSize, pb, 1, false, out, NN);
      for (int i = 0; i < n; i++) {
        const int k = g.shared ? u + i : (u + i) % g.nImg;
        float* yb = y + ((size_t)b * g.nImg + k) * g.imgOut;
        for (int o = 0; o < g.O; o++) {
          const float bv = bias == nullptr ? 0.0f : bias[(size_t)b * g.O + o];
          const float* src = out + (size_t)o * NN + (size_t)i * g.P;
          float* row = yb + (size_t)o * g.P;
          if (relu) for (int p = 0; p < g.P; p++) { const float v = src[p] + bv; row[p] = v > 0 ? v : 0.0f; }
          else for (int p = 0; p < g.P; p++) row[p] = src[p] + bv;
        }
      }
    }
    u = end;
  }
  return 0;
}
// dx (+)= d/dx for input images [u0, u1); a shared image sums every network's contribution.
// Each network's W^T is packed once per call; a run's dy side by side once per network.
static double k_conv2dBackwardInput(Base B, const double* a) {
  const ZooConv g(a);
  float* dy = F(B, a[13]); const float* w = F(B, a[14]); float* dx = F(B, a[15]); const bool acc = a[16] != 0;
  const int u0 = (int)a[18], u1 = (int)a[19];
  const float* mask = a[20] == 0 ? nullptr : F(B, a[20]);
  if (u1 <= u0) return 0;
#ifdef PG_X86
  // The first layer's maps (32 MiB in W2) are masked image by image into a buffer as they are read.
  if (usePixelConvBackwardInput(g)) {
    if (g.C == 1) pixelConvBackwardInput512<1, 8>(g, dy, w, dx, acc, u0, u1, mask);
    else if (g.C == 2) pixelConvBackwardInput512<2, 4>(g, dy, w, dx, acc, u0, u1, mask);
    else pixelConvBackwardInput512<4, 2>(g, dy, w, dx, acc, u0, u1, mask);
    return 0;
  }
  if (useDirectConvBackwardInputPixels(g)) { directConvBackwardInputPixels512(g, dy, w, dx, acc, u0, u1, mask); return 0; }
#endif
  // Elsewhere this part's images of dy are masked in place first, while they are in cache.
  if (mask != nullptr) {
    for (int u = u0; u < u1; u++) {
      const int k = g.shared ? u : u % g.nImg;
      for (int b = firstNet(u, g.nImg, g.shared); b < lastNet(u, g.nNet, g.nImg, g.shared); b++) {
        const size_t at = ((size_t)b * g.nImg + k) * g.imgOut;
        maskByPositive(dy + at, mask + at, dy + at, g.imgOut);
      }
    }
  }
#ifdef PG_X86
  if (useDirectConvBackwardInput(g)) { directConvBackwardInput512(g, dy, w, dx, acc, u0, u1); return 0; }
#endif
  thread_local std::vector<float> bufA, bufB, bufC, bufD;
  const int bLo = firstNet(u0, g.nImg, g.shared), bHi = lastNet(u1 - 1, g.nNet, g.nImg, g.shared);
  const size_t aSize = packedFloats(g.CKK, g.O, isa.MR);
  float* pa = scratch(bufA, aSize * (bHi - bLo));
  for (int b = bLo; b < bHi; b++) isa.packA(true, w + (size_t)b * g.O * g.CKK, g.CKK, g.CKK, g.O, pa + (b - bLo) * aSize);
  const int most = std::min(u1 - u0, runImages(g));
  float* dyCat = scratch(bufD, (size_t)g.O * most * g.P);
  float* pb = scratch(bufB, packedFloats(most * g.P, g.O, isa.NR));
  float* cols = scratch(bufC, (size_t)g.CKK * most * g.P);
  for (int u = u0; u < u1;) {
    const int end = runEnd(g, u, u1), n = end - u, NN = n * g.P;
    const int b0 = firstNet(u, g.nImg, g.shared);
    for (int b = b0; b < lastNet(u, g.nNet, g.nImg, g.shared); b++) {
      for (int i = 0; i < n; i++) {
        const int k = g.shared ? u + i : (u + i) % g.nImg;
        const float* d = dy + ((size_t)b * g.nImg + k) * g.imgOut;
        for (int o = 0; o < g.O; o++) std::memcpy(dyCat + (size_t)o * NN + (size_t)i * g.P, d + (size_t)o * g.P, sizeof(float) * g.P);
      }
      isa.packB(false, dyCat, NN, g.O, NN, pb);
      isa.multiply(g.CKK, NN, g.O, pa + (b - bLo) * aSize, pb, 1, b > b0, cols, NN);
    }
    for (int i = 0; i < n; i++) {
      float* dxu = dx + (size_t)(u + i) * g.imgIn;
      if (g.direct) {
        for (int c = 0; c < g.C; c++) {
          const float* src = cols + (size_t)c * NN + (size_t)i * g.P;
          float* d = dxu + (size_t)c * g.P;
          if (acc) for (int p = 0; p < g.P; p++) d[p] += src[p];
          else std::memcpy(d, src, sizeof(float) * g.P);
        }
      } else {
        if (!acc) std::memset(dxu, 0, sizeof(float) * g.imgIn);
        col2imLd(cols + (size_t)i * g.P, NN, g.C, g.H, g.W, g.KH, g.KW, g.sh, g.sw, g.ph, g.pw, g.OH, g.OW, dxu);
      }
    }
    u = end;
  }
  return 0;
}
#ifdef PG_X86
static void directConvBackwardWeight512(const ZooConv& g, const float* x, const float* dy, float* dw, bool acc, int b0, int b1, int r0, int r1, int runOf = 0, int oLo = 0, int oHi = 1 << 30);
#endif
// dw[b] (+)= sum over images of dy[b,k] im2col(x[b,k])^T, networks [b0, b1), columns [r0, r1):
// runs of images side by side, so the sum over a run's images is one GEMM's K.
static double k_conv2dBackwardWeight(Base B, const double* a) {
  const ZooConv g(a);
  const float *x = F(B, a[13]), *dy = F(B, a[14]); float* dw = F(B, a[15]); const bool acc = a[16] != 0;
  const int b0 = (int)a[18], b1 = (int)a[19], r0 = (int)a[20], r1 = (int)a[21];
  if (b1 <= b0 || r1 <= r0) return 0;
#ifdef PG_X86
  if (std::strcmp(isa.name, "avx512") == 0 && g.O <= DIRECT_MAX_CHANNELS && !g.direct) { directConvBackwardWeight512(g, x, dy, dw, acc, b0, b1, r0, r1); return 0; }
#endif
  thread_local std::vector<float> bufA, bufB, bufC, bufD;
  const int R = r1 - r0;
  const int most = std::min(g.nImg, weightRunImages(g));
  float* cols = scratch(bufC, (size_t)R * most * g.P);
  float* dyCat = scratch(bufD, (size_t)g.O * most * g.P);
  float* pa = scratch(bufA, packedFloats(g.O, most * g.P, isa.MR));
  float* pb = scratch(bufB, packedFloats(R, most * g.P, isa.NR));
  // Runs over each network's images (or the shared images), from image 0 of them.
  for (int first = g.shared ? 0 : b0; first < (g.shared ? 1 : b1); first++) {
    const int base = g.shared ? 0 : first * g.nImg;
    for (int k0 = 0; k0 < g.nImg; k0 += most) {
      const int n = std::min(most, g.nImg - k0), NN = n * g.P;
      for (int i = 0; i < n; i++) {
        const float* xi = x + (size_t)(base + k0 + i) * g.imgIn;
        if (g.direct) for (int r = r0; r < r1; r++) std::memcpy(cols + (size_t)(r - r0) * NN + (size_t)i * g.P, xi + (size_t)r * g.P, sizeof(float) * g.P);
        else im2colRows(xi, g.C, g.H, g.W, g.KH, g.KW, g.sh, g.sw, g.ph, g.pw, g.OH, g.OW, cols + (size_t)i * g.P, NN, r0, r1);
      }
      isa.packB(true, cols, NN, NN, R, pb);
      const int bFrom = g.shared ? b0 : first, bTo = g.shared ? b1 : first + 1;
      for (int b = bFrom; b < bTo; b++) {
        for (int i = 0; i < n; i++) {
          const float* d = dy + ((size_t)b * g.nImg + k0 + i) * g.imgOut;
          for (int o = 0; o < g.O; o++) std::memcpy(dyCat + (size_t)o * NN + (size_t)i * g.P, d + (size_t)o * g.P, sizeof(float) * g.P);
        }
        isa.packA(false, dyCat, NN, g.O, NN, pa);
        isa.multiply(g.O, R, NN, pa, pb, 1, acc || k0 > 0, dw + (size_t)b * g.O * g.CKK + r0, g.CKK);
      }
    }
  }
  return 0;
}
#ifdef PG_X86
// The weight gradient of the same layers, directly: one vector holds 16 output channels of one
// tap's gradient, an FMA per output pixel with the tap's input value broadcast. The GEMM path
// sums each run of images as one product over its columns (image by image, pixel by pixel),
// an FMA chain from zero per KC columns added to the gradient; this runs the same chains in the
// same order, 9 taps at a time sharing each load of dy (a 3x3 filter in one pass: 8 left a pass of one tap).
static const int DIRECT_TAPS = 9;
__attribute__((target("avx512f,fma")))
// oLo, oHi: the output channels (dw's rows) this call writes; the others' sums are not stored.
static void directConvBackwardWeight512(const ZooConv& g, const float* x, const float* dy, float* dw, bool acc, int b0, int b1, int r0, int r1, int runOf, int oLo, int oHi) {
  const int chunks = (g.O + 15) / 16, Hp = g.H + 2 * g.ph, Wp = g.W + 2 * g.pw, lanesAll = chunks * 16;
  // Images per run: the zoo convolution's, or runOf (a transposed convolution sums image by image).
  const int most = std::min(g.nImg, runOf > 0 ? runOf : weightRunImages(g));
  const size_t plane = (size_t)g.C * Hp * Wp;
  thread_local std::vector<float> bufX, bufD;
  thread_local std::vector<int> koff, pofs;
  koff.resize(g.CKK); pofs.resize(g.P);
  for (int k = 0; k < g.CKK; k++) koff[k] = (k / (g.KH * g.KW)) * Hp * Wp + ((k / g.KW) % g.KH) * Wp + k % g.KW;
  for (int p = 0; p < g.P; p++) pofs[p] = (p / g.OW) * g.sh * Wp + (p % g.OW) * g.sw;
  float* xp = scratch(bufX, plane * most);
  std::memset(xp, 0, sizeof(float) * plane * most);
  float* dyT = scratch(bufD, (size_t)most * g.P * lanesAll);
  alignas(64) float tile[DIRECT_TAPS][16];
  for (int first = g.shared ? 0 : b0; first < (g.shared ? 1 : b1); first++) {
    const int base = g.shared ? 0 : first * g.nImg;
    for (int k0 = 0; k0 < g.nImg; k0 += most) {
      const int n = std::min(most, g.nImg - k0), NN = n * g.P;
      for (int i = 0; i < n; i++) {
        const float* xi = x + (size_t)(base + k0 + i) * g.imgIn;
        for (int c = 0; c < g.C; c++) for (int h = 0; h < g.H; h++)
          std::memcpy(xp + i * plane + (size_t)c * Hp * Wp + (size_t)(h + g.ph) * Wp + g.pw, xi + ((size_t)c * g.H + h) * g.W, sizeof(float) * g.W);
      }
      const int bFrom = g.shared ? b0 : first, bTo = g.shared ? b1 : first + 1;
      for (int b = bFrom; b < bTo; b++) {
        for (int i = 0; i < n; i++) {
          const float* d = dy + ((size_t)b * g.nImg + k0 + i) * g.imgOut;
          for (int ch = 0; ch < chunks; ch++) channelsToPixels(d + (size_t)ch * 16 * g.P, g.P, std::min(16, g.O - ch * 16), g.P, dyT + (size_t)i * g.P * lanesAll + ch * 16, lanesAll);
        }
        for (int ch = 0; ch < chunks; ch++) {
          const int lanes = std::min(16, g.O - ch * 16);
          if (ch * 16 >= oHi || ch * 16 + lanes <= oLo) continue;
          for (int r = r0; r < r1; r += DIRECT_TAPS) {
            const int taps = std::min(DIRECT_TAPS, r1 - r);
            int off[DIRECT_TAPS];
            for (int t = 0; t < DIRECT_TAPS; t++) off[t] = koff[r + std::min(t, taps - 1)];
            for (int pc = 0; pc < NN; pc += KC) {
              const int pe = std::min(NN, pc + KC);
              __m512 a[DIRECT_TAPS];
#pragma GCC unroll 8
              for (int t = 0; t < DIRECT_TAPS; t++) a[t] = _mm512_setzero_ps();
              int i = pc / g.P, p = pc % g.P;
              for (int q = pc; q < pe; q++) {
                const __m512 dv = _mm512_loadu_ps(dyT + (size_t)q * lanesAll + ch * 16);
                const float* xq = xp + i * plane + pofs[p];
#pragma GCC unroll 8
                for (int t = 0; t < DIRECT_TAPS; t++) a[t] = _mm512_fmadd_ps(dv, _mm512_set1_ps(xq[off[t]]), a[t]);
                if (++p == g.P) { p = 0; i++; }
              }
              const bool add = acc || k0 > 0 || pc > 0;
              for (int t = 0; t < taps; t++) {
                _mm512_store_ps(tile[t], a[t]);
                for (int o = std::max(0, oLo - ch * 16); o < std::min(lanes, oHi - ch * 16); o++) {
                  float* d = dw + ((size_t)b * g.O + ch * 16 + o) * g.CKK + r + t;
                  *d = add ? *d + tile[t][o] : tile[t][o];
                }
              }
            }
          }
        }
      }
    }
  }
}
#endif
static double k_convTranspose2dWorkFloats(Base, const double* a) {
  const int Cin = (int)a[1], H = (int)a[2], W = (int)a[3], Cout = (int)a[4], KH = (int)a[5], KW = (int)a[6];
  return (double)(align16((size_t)Cout * KH * KW * H * W) + align16((size_t)Cin * H * W) + 64);
}
struct ConvT {
  int n, Cin, H, W, Cout, KH, KW, sh, sw, ph, pw, OH, OW, CKK, HW; size_t imgOut; bool footprint;
  explicit ConvT(const double* a)
      : n((int)a[0]), Cin((int)a[1]), H((int)a[2]), W((int)a[3]), Cout((int)a[4]), KH((int)a[5]), KW((int)a[6]), sh((int)a[7]), sw((int)a[8]),
        ph((int)a[9]), pw((int)a[10]), OH((int)a[11]), OW((int)a[12]) {
    CKK = Cout * KH * KW; HW = H * W; imgOut = (size_t)Cout * OH * OW;
    footprint = H == 1 && W == 1 && ph == 0 && pw == 0 && OH == KH && OW == KW;
  }
};
// The convolution a transposed convolution transposes (its input is the transposed one's
// output), as one network over the transposed convolution's images; output padding aside, its
// output has the transposed convolution's input size, which transposes() checks.
#ifdef PG_X86
static ZooConv transposedConv(const ConvT& g) { return ZooConv(g.n, g.Cout, g.OH, g.OW, g.Cin, g.KH, g.KW, g.sh, g.sw, g.ph, g.pw); }
static AI bool transposes(const ZooConv& c, const ConvT& g) { return c.OH == g.H && c.OW == g.W; }
#endif
// The segmented weight gradient's group of images (columns of K) and block of dw's columns.
static const int SEG_GROUP_K = 512;
static const int SEG_BLOCK_COLS = 256;
// Images per run of a transposed convolution: as for the zoo convolutions, a run's images lie
// side by side so one product of N = n * HW columns serves them (the probe generator's 4x4 and
// 8x8 layers made products of 16 and 64 columns per image), in whole NR-column panels. Each
// column is the same dot product over Cin (or CKK) whatever the run, so the bits do not change.
static AI int convTRunImages(const ConvT& g, int rows) {
  const int most = (int)std::max<size_t>(1, CHUNK_FLOATS / ((size_t)rows * g.HW));
  const int whole = isa.NR / std::gcd(g.HW, isa.NR);
  return (most + whole - 1) / whole * whole;
}
#ifdef PG_X86
// im2col(dy) of a run of n images side by side ([CKK, n HW]: the convolution a transposed one
// transposes), packed as packBWhole packs it (KC-row blocks of 32-column panels, a partial
// panel padded with zeros), gathered straight from dy: each panel's 32 pixels get their offsets
// and each tap its border masks once, then every row of the panel is two masked gathers. The
// stride-2 layers' im2col rows read every other float in runs of 4 to 8 and took half of the
// input gradient's time (the generator's 128 -> 64 layer: 1 of 2 ms). The values are the same.
static AI bool useGatheredIm2col(const ConvT& g, int n) {
  return std::strcmp(isa.name, "avx512") == 0 && isa.NR == 32 && (size_t)n * g.imgOut < ((size_t)1 << 31) && g.KH * g.KW <= 64;
}
__attribute__((target("avx512f")))
static void gatheredIm2colPacked512(const float* dy, const ConvT& g, int n, float* pb) {
  const int NN = n * g.HW, K = g.CKK, panels = (NN + 31) / 32, taps = g.KH * g.KW;
  alignas(64) int base[32];
  __mmask16 mlo[64], mhi[64];
  for (int q = 0; q < panels; q++) {
    int y0[32], x0[32];
    unsigned live = 0;
    for (int c = 0; c < 32; c++) {
      const int col = q * 32 + c;
      if (col >= NN) { base[c] = 0; y0[c] = x0[c] = 0; continue; }
      live |= 1u << c;
      const int i = col / g.HW, p = col % g.HW, h = p / g.W, w = p % g.W;
      y0[c] = h * g.sh - g.ph; x0[c] = w * g.sw - g.pw;
      base[c] = (int)((size_t)i * g.imgOut) + y0[c] * g.OW + x0[c];
    }
    for (int t = 0; t < taps; t++) {
      const int ki = t / g.KW, kj = t % g.KW;
      unsigned m = 0;
      for (int c = 0; c < 32; c++) {
        const int iy = y0[c] + ki, ix = x0[c] + kj;
        if ((live >> c & 1u) && iy >= 0 && iy < g.OH && ix >= 0 && ix < g.OW) m |= 1u << c;
      }
      mlo[t] = (__mmask16)(m & 0xFFFF); mhi[t] = (__mmask16)(m >> 16);
    }
    const __m512i blo = _mm512_load_si512(base), bhi = _mm512_load_si512(base + 16);
    const __m512 zero = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
      const int co = k / taps, t = k % taps, ki = t / g.KW, kj = t % g.KW;
      const __m512i off = _mm512_set1_epi32((co * g.OH + ki) * g.OW + kj);
      const int pc = k / KC * KC, kc = std::min(KC, K - pc);
      float* d = pb + (size_t)pc * panels * 32 + (size_t)q * 32 * kc + (size_t)(k - pc) * 32;
      _mm512_storeu_ps(d, _mm512_mask_i32gather_ps(zero, mlo[t], _mm512_add_epi32(blo, off), dy, 4));
      _mm512_storeu_ps(d + 16, _mm512_mask_i32gather_ps(zero, mhi[t], _mm512_add_epi32(bhi, off), dy, 4));
    }
  }
}
#endif
// y = convTranspose(x, w) for images [i0, i1): cols = w^T x for a run of images, then each
// image's columns scattered into its output (col2im).
static double k_convTranspose2dForward(Base B, const double* a) {
  const ConvT g(a);
  const float *x = F(B, a[13]), *w = F(B, a[14]); float* y = F(B, a[15]); const int i0 = (int)a[17], i1 = (int)a[18];
  if (i1 <= i0) return 0;
  if (g.footprint) { gemm(false, false, i1 - i0, g.CKK, g.Cin, 1, x + (size_t)i0 * g.Cin, g.Cin, w, g.CKK, 0, y + (size_t)i0 * g.CKK, g.CKK); return 0; }
#ifdef PG_X86
  // A transposed convolution is the input gradient of the convolution it transposes, the same
  // terms in the same order (cols = w^T x, then col2im into a zeroed y).
  {
    const ZooConv c = transposedConv(g);
    if (transposes(c, g) && useDirectConvBackwardInput(c)) { directConvBackwardInput512(c, x, w, y, false, i0, i1); return 0; }
    // Few output channels (an image's 1 or 3): over pixels, as a first layer's input gradient.
    // The generator's 16 -> 1 layer ran its im2col product at M = 9 rows, 19 GFLOP/s.
    if (transposes(c, g) && useDirectConvBackwardInputPixels(c)) { directConvBackwardInputPixels512(c, x, w, y, false, i0, i1, nullptr); return 0; }
  }
#endif
  thread_local std::vector<float> bufA, bufB, bufC, bufX;
  float* pa = scratch(bufA, packedFloats(g.CKK, g.Cin, isa.MR));
  isa.packA(true, w, g.CKK, g.CKK, g.Cin, pa);
  const int most = std::min(i1 - i0, convTRunImages(g, g.CKK));
  float* xCat = scratch(bufX, (size_t)g.Cin * most * g.HW);
  float* pb = scratch(bufB, packedFloats(most * g.HW, g.Cin, isa.NR));
  float* cols = scratch(bufC, (size_t)g.CKK * most * g.HW);
  for (int u = i0; u < i1;) {
    const int n = std::min(i1 - u, most), NN = n * g.HW;
    for (int i = 0; i < n; i++) {
      const float* xi = x + (size_t)(u + i) * g.Cin * g.HW;
      for (int c = 0; c < g.Cin; c++) std::memcpy(xCat + (size_t)c * NN + (size_t)i * g.HW, xi + (size_t)c * g.HW, sizeof(float) * g.HW);
    }
    isa.packB(false, xCat, NN, g.Cin, NN, pb);
    isa.multiply(g.CKK, NN, g.Cin, pa, pb, 1, false, cols, NN);
    for (int i = 0; i < n; i++) {
      float* yi = y + (size_t)(u + i) * g.imgOut;
      std::memset(yi, 0, sizeof(float) * g.imgOut);
      col2imLd(cols + (size_t)i * g.HW, NN, g.Cout, g.OH, g.OW, g.KH, g.KW, g.sh, g.sw, g.ph, g.pw, g.H, g.W, yi);
    }
    u += n;
  }
  return 0;
}
// dx (+)= conv2d(dy, w) for images [i0, i1); dw (+)= sum over every image of x_i im2col(dy_i)^T
// for dw's rows [c0, c1) and columns [r0, r1). Either output may be 0 (skipped).
static double k_convTranspose2dBackward(Base B, const double* a) {
  const ConvT g(a);
  const float *x = F(B, a[13]), *w = F(B, a[14]), *dy = F(B, a[15]); float* dx = a[16] == 0 ? nullptr : F(B, a[16]); const bool accX = a[17] != 0;
  float* dw = a[18] == 0 ? nullptr : F(B, a[18]); const bool accW = a[19] != 0; float* cols = F(B, a[20]);
  const int i0 = (int)a[21], i1 = (int)a[22], r0 = (int)a[23], r1 = (int)a[24], c0 = (int)a[25], c1 = (int)a[26];
  bool doX = dx != nullptr && i1 > i0; const bool doW = dw != nullptr && r1 > r0 && c1 > c0;
  if (g.footprint) {
    if (doX) gemm(false, true, i1 - i0, g.Cin, g.CKK, 1, dy + (size_t)i0 * g.CKK, g.CKK, w, g.CKK, accX ? 1 : 0, dx + (size_t)i0 * g.Cin, g.Cin);
    if (doW) gemm(true, false, c1 - c0, r1 - r0, g.n, 1, x + c0, g.Cin, dy + r0, g.CKK, accW ? 1 : 0, dw + (size_t)c0 * g.CKK + r0, g.CKK);
    return 0;
  }
#ifdef PG_X86
  // Its weight gradient is that convolution's, summed image by image (runs of one image) as
  // the loop below sums it. Not past 32 channels: images of a few pixels summed one at a time
  // spent their time adding to dw (128 channels: 17 against 116 GFLOP/s by GEMM). A thread given
  // rows of dw [c0, c1) (a last layer's few columns: 16 -> 1 has 9) computes all of its 16
  // lanes and stores its own: one product per image and row range ran at 13 GFLOP/s.
  bool wDone = false;
  // Filters 4 wide with a panel's columns or more (the generator's 4x4 layers) pack their
  // panels four floats at a time (im2colPanel) and go to the segmented product instead: the
  // 32 -> 16 layer's weight gradient, 2.40 -> 1.69 ms.
  const bool packsByFours = g.KW % 4 == 0 && g.CKK >= isa.NR;
  if (doW && std::strcmp(isa.name, "avx512") == 0 && g.Cin <= DIRECT_MAX_CHANNELS && !packsByFours) {
    const ZooConv c = transposedConv(g);
    if (transposes(c, g) && !c.direct) {
      directConvBackwardWeight512(c, dy, x, dw, accW, 0, 1, r0, r1, 1, c0, c1);
      wDone = true;
    }
  }
  const bool wLeft = doW && !wDone;
#else
  const bool wLeft = doW;
#endif
  if (wLeft && r1 - r0 < isa.NR) {
    // Fewer columns than a panel (a 16 -> 1 layer's 9): one product per image, where packing
    // whole panels for the segmented product would write mostly zeros.
    for (int i = 0; i < g.n; i++) {
      im2colRows(dy + (size_t)i * g.imgOut, g.Cout, g.OH, g.OW, g.KH, g.KW, g.sh, g.sw, g.ph, g.pw, g.H, g.W, cols, g.HW, r0, r1);
      gemm(false, true, c1 - c0, r1 - r0, g.HW, 1, x + ((size_t)i * g.Cin + c0) * g.HW, g.HW, cols, g.HW, accW || i > 0 ? 1 : 0,
           dw + (size_t)c0 * g.CKK + r0, g.CKK);
    }
  } else if (wLeft) {
    // Groups of images about SEG_GROUP_K columns long, packed once, each tile of dw kept in a
    // local buffer while the group's images add to it (multiplySegmented): one gemm() per image
    // read and wrote dw back per image, which for 4x4 and 8x8 images (16 and 64 terms each)
    // cost more than the arithmetic (128->64 channels: 88 GFLOP/s). The terms and their order
    // are the per-image product's, so the bits are the same.
    thread_local std::vector<float> bufA, bufB;
    const int M = c1 - c0, MR = isa.MR, NR = isa.NR;
    const int group = std::max(1, std::min(g.n, SEG_GROUP_K / g.HW)), block = std::min(r1 - r0, SEG_BLOCK_COLS);
    const size_t gK = (size_t)group * g.HW;
    float* pa = scratch(bufA, packedFloats(M, (int)gK, MR));
    float* pb = scratch(bufB, packedFloats(block, (int)gK, NR));
    for (int i = 0; i < g.n; i += group) {
      const int gi = std::min(group, g.n - i);
      const size_t K = (size_t)gi * g.HW;
      for (int i0 = 0; i0 < M; i0 += MR) {
        float* e = pa + (size_t)i0 * K;
        for (int j = 0; j < gi; j++) {
          for (int r = 0; r < MR; r++) {
            const float* src = x + ((size_t)(i + j) * g.Cin + c0 + i0 + r) * g.HW;
            float* d = e + (size_t)j * g.HW * MR + r;
            if (i0 + r < M) for (int p = 0; p < g.HW; p++) d[(size_t)p * MR] = src[p];
            else for (int p = 0; p < g.HW; p++) d[(size_t)p * MR] = 0.0f;
          }
        }
      }
      for (int rb = r0; rb < r1; rb += block) {
        const int re = std::min(r1, rb + block), N = re - rb;
        for (int j = 0; j < gi; j++) {
          for (int j0 = 0; j0 < N; j0 += NR) {
            im2colPanel(dy + (size_t)(i + j) * g.imgOut, g.OH, g.OW, g.KH, g.KW, g.sh, g.sw, g.ph, g.pw, g.H, g.W, rb + j0, std::min(re, rb + j0 + NR), NR,
                        pb + (size_t)j0 * K + (size_t)j * g.HW * NR);
          }
        }
        isa.multiplySegmented(M, N, gi, g.HW, pa, pb, accW || i > 0, dw + (size_t)c0 * g.CKK + rb, g.CKK);
      }
    }
  }
#ifdef PG_X86
  if (doX) {
    // and its input gradient is that convolution's forward (im2col(dy), then w cols: K = CKK)
    const ZooConv c = transposedConv(g);
    if (transposes(c, g) && useDirectConvTransposedInput(c) && (!accX || c.CKK <= KC)) {
      directConvForward512(c, dy, w, nullptr, false, dx, i0, i1, accX);
      doX = false;
    }
  }
#endif
  if (doX) {
    // dx = w im2col(dy) for a run of images side by side; where dx accumulates, its rows are
    // the product's starting values, so each element adds the same terms in the same order.
    thread_local std::vector<float> bufA, bufB, bufC, bufO;
    float* pa = scratch(bufA, packedFloats(g.Cin, g.CKK, isa.MR));
    isa.packA(false, w, g.CKK, g.Cin, g.CKK, pa);
    const int most = std::min(i1 - i0, convTRunImages(g, g.CKK));
    float* runCols = scratch(bufC, (size_t)g.CKK * most * g.HW);
    float* pb = scratch(bufB, packedFloats(most * g.HW, g.CKK, isa.NR));
    float* out = scratch(bufO, (size_t)g.Cin * most * g.HW);
    for (int u = i0; u < i1;) {
      const int n = std::min(i1 - u, most), NN = n * g.HW;
#ifdef PG_X86
      const bool gathered = useGatheredIm2col(g, n);
      if (gathered) gatheredIm2colPacked512(dy + (size_t)u * g.imgOut, g, n, pb);
#else
      const bool gathered = false;
#endif
      for (int i = 0; i < n; i++) {
        if (!gathered) im2colRows(dy + (size_t)(u + i) * g.imgOut, g.Cout, g.OH, g.OW, g.KH, g.KW, g.sh, g.sw, g.ph, g.pw, g.H, g.W, runCols + (size_t)i * g.HW, NN, 0, g.CKK);
        if (accX) for (int c = 0; c < g.Cin; c++) std::memcpy(out + (size_t)c * NN + (size_t)i * g.HW, dx + ((size_t)(u + i) * g.Cin + c) * g.HW, sizeof(float) * g.HW);
      }
      if (!gathered) isa.packB(false, runCols, NN, g.CKK, NN, pb);
      isa.multiply(g.Cin, NN, g.CKK, pa, pb, 1, accX, out, NN);
      for (int i = 0; i < n; i++) {
        for (int c = 0; c < g.Cin; c++) std::memcpy(dx + ((size_t)(u + i) * g.Cin + c) * g.HW, out + (size_t)c * NN + (size_t)i * g.HW, sizeof(float) * g.HW);
      }
      u += n;
    }
  }
  return 0;
}

static double k_gemm(Base B, const double* a) {
  gemm(a[0] != 0, a[1] != 0, (int)a[2], (int)a[3], (int)a[4], (float)a[5], F(B, a[6]), (int)a[7], F(B, a[8]), (int)a[9], (float)a[10], F(B, a[11]), (int)a[12]);
  return 0;
}
static double k_gemmBatched(Base B, const double* a) {
  const int batch = (int)a[0]; const bool tA = a[1] != 0, tB = a[2] != 0; const int M = (int)a[3], N = (int)a[4], K = (int)a[5]; const float alpha = (float)a[6];
  const float* A = F(B, a[7]); const int lda = (int)a[8], sA = (int)a[9]; const float* Bm = F(B, a[10]); const int ldb = (int)a[11], sB = (int)a[12];
  const float beta = (float)a[13]; float* C = F(B, a[14]); const int ldc = (int)a[15], sC = (int)a[16];
  for (int b = 0; b < batch; b++) {
    gemm(tA, tB, M, N, K, alpha, A + (size_t)b * sA, lda, Bm + (size_t)b * sB, ldb, sC == 0 && b > 0 ? 1 : beta, C + (size_t)b * sC, ldc);
  }
  return 0;
}
// Scratch for gemm() calls: the native GEMM keeps its packing buffers per thread.
static double k_gemmWorkFloats(Base, const double*) { return 16; }

static const KernelDef KERNELS[] = {
  {"gemm", 14, k_gemm}, {"gemmBatched", 18, k_gemmBatched}, {"gemmWorkFloats", 0, k_gemmWorkFloats},
  {"im2col", 13, k_im2col}, {"col2im", 13, k_col2im},
  {"conv2dWorkFloats", 11, k_conv2dWorkFloats}, {"conv2dForward", 21, k_conv2dForward},
  {"conv2dBackwardInput", 21, k_conv2dBackwardInput}, {"conv2dBackwardWeight", 22, k_conv2dBackwardWeight},
  {"convTranspose2dWorkFloats", 7, k_convTranspose2dWorkFloats}, {"convTranspose2dForward", 19, k_convTranspose2dForward},
  {"convTranspose2dBackward", 27, k_convTranspose2dBackward},
  {"maxPool2dForward", 11, k_maxPool2dForward}, {"maxPool2dBackward", 9, k_maxPool2dBackward},
  {"fill", 3, k_fill}, {"axpby", 5, k_axpby}, {"add", 4, k_add}, {"sub", 4, k_sub}, {"mul", 5, k_mul}, {"addScalar", 4, k_addScalar},
  {"sinForward", 4, k_sinForward}, {"sinBackward", 6, k_sinBackward}, {"biasSinForward", 8, k_biasSinForward},
  {"cosForward", 4, k_cosForward}, {"cosBackward", 6, k_cosBackward}, {"expForward", 3, k_expForward},
  {"tanhForward", 3, k_tanhForward}, {"tanhBackward", 5, k_tanhBackward}, {"sigmoidForward", 3, k_sigmoidForward},
  {"sigmoidBackward", 5, k_sigmoidBackward}, {"leakyReluForward", 4, k_leakyReluForward}, {"leakyReluBackward", 6, k_leakyReluBackward},
  {"geluForward", 3, k_geluForward}, {"geluBackward", 5, k_geluBackward}, {"sum", 2, k_sum}, {"dot", 3, k_dot},
  {"gatherRows", 5, k_gatherRows}, {"dropoutMask", 6, k_dropoutMask}, {"addChannel", 7, k_addChannel}, {"sumChannel", 7, k_sumChannel},
  {"meanLast", 4, k_meanLast}, {"meanLastBackward", 5, k_meanLastBackward}, {"planeMoments", 5, k_planeMoments},
  {"planeMomentsBackward", 7, k_planeMomentsBackward}, {"softmaxCrossEntropy", 5, k_softmaxCrossEntropy}, {"mse", 4, k_mse},
  {"adamStep", 12, k_adamStep}, {"rmspropStep", 7, k_rmspropStep},
};
static const int KERNEL_COUNT = sizeof(KERNELS) / sizeof(KERNELS[0]);

// ---------------------------------------------------------------------------------------------
// Threads: one pool per JavaScript context (the main thread, each worker thread). A call's
// parts are claimed one at a time by whichever of the calling thread and the workers comes
// first, so a worker the system has not scheduled (other processes on the cores) delays nothing
// it has not claimed: waiting for every worker to take its own part made a Small-CNN build on
// two threads 2.5x slower than on one beside two busy processes. Each part's result does not
// depend on the thread that computes it. The workers spin briefly between calls, then sleep.
struct Pool {
  explicit Pool(int n) : threads(n) {
    for (int t = 1; t < n; t++) workers.emplace_back([this] { serve(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop.store(true, std::memory_order_relaxed);
      gen.fetch_add(1, std::memory_order_release);
    }
    cv.notify_all();
    for (auto& w : workers) w.join();
  }
  void run(Base base, Kernel fn, const double* args, int nargs, int parts) {
    if (parts <= 1 || threads == 1) {
      for (int p = 0; p < parts; p++) fn(base, args + (size_t)p * nargs);
      return;
    }
    // The job is written as a sequence lock: the ticket is closed while its fields change, and
    // a claim is a compare-and-swap of the ticket it read, which fails if they changed since.
    const uint64_t next = (ticket.load(std::memory_order_relaxed) >> 32) + 1;
    ticket.store(next << 32 | CLOSED, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    jobBase.store(base, std::memory_order_relaxed); jobFn.store(fn, std::memory_order_relaxed);
    jobArgs.store(args, std::memory_order_relaxed); jobNargs.store(nargs, std::memory_order_relaxed);
    jobParts.store(parts, std::memory_order_relaxed);
    finished.store(0, std::memory_order_relaxed);
    ticket.store(next << 32, std::memory_order_release);
    {
      std::lock_guard<std::mutex> lock(mu);
      gen.fetch_add(1, std::memory_order_release);
    }
    cv.notify_all();
    claim();
    // Only parts a worker has claimed and is computing are waited for.
    while (finished.load(std::memory_order_acquire) < parts) {
#ifdef PG_X86
      _mm_pause();
#endif
    }
  }
  int threads;

 private:
  static const uint32_t CLOSED = 0xFFFFFFFFu;
  // Claims and computes parts of the current job until none is left.
  void claim() {
    for (;;) {
      uint64_t t = ticket.load(std::memory_order_acquire);
      const uint32_t p = (uint32_t)t;
      if (p == CLOSED) return;
      const Base base = jobBase.load(std::memory_order_relaxed);
      const Kernel fn = jobFn.load(std::memory_order_relaxed);
      const double* args = jobArgs.load(std::memory_order_relaxed);
      const int nargs = jobNargs.load(std::memory_order_relaxed), parts = jobParts.load(std::memory_order_relaxed);
      // (read while unchanged only if the swap below succeeds; a torn read ends this thread's
      // share early at worst)
      if ((int64_t)p >= parts) return;
      std::atomic_thread_fence(std::memory_order_acquire);
      if (!ticket.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel, std::memory_order_relaxed)) continue;
      fn(base, args + (size_t)p * nargs);
      finished.fetch_add(1, std::memory_order_release);
    }
  }
  void serve() {
    uint64_t seen = 0;
    for (;;) {
      int spins = 0;
      while (gen.load(std::memory_order_acquire) == seen && ++spins < 20000) {
#ifdef PG_X86
        _mm_pause();
#endif
      }
      if (gen.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return gen.load(std::memory_order_acquire) != seen; });
      }
      seen = gen.load(std::memory_order_acquire);
      if (stop.load(std::memory_order_relaxed)) return;
      claim();
    }
  }
  std::vector<std::thread> workers;
  std::atomic<uint64_t> gen{0};
  std::atomic<uint64_t> ticket{CLOSED};
  std::atomic<Base> jobBase{nullptr};
  std::atomic<Kernel> jobFn{nullptr};
  std::atomic<const double*> jobArgs{nullptr};
  std::atomic<int> jobNargs{0}, jobParts{0}, finished{0};
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<bool> stop{false};
};

struct Instance {
  Base base = nullptr;
  size_t bytes = 0;
  Pool* pool = nullptr;
  ~Instance() { delete pool; }
};

static void finalizeInstance(napi_env, void* data, void*) { delete static_cast<Instance*>(data); }

// ---------------------------------------------------------------------------------------------
// N-API: attach(view of the WASM memory), kernels(), call(id, args), run(id, args, nargs, parts),
// setThreads(n), simd(), reserve(bytes).

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, nullptr, "probegen native: " #call " failed"); return nullptr; } } while (0)

static Instance* instanceOf(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<Instance*>(data);
}

// Tensor memory in 2 MiB pages where the system allows it (transparent huge pages in "madvise"
// mode, Linux's usual default): a first step touches gigabytes of fresh memory, and with 4 KiB
// pages the page faults were 60% of a ResNet probing step's first run on a VM. A hint only:
// where it is refused (no THP, other systems, part of the range unmapped) nothing changes.
static void adviseHugePages(void* at, size_t bytes) {
#if defined(PG_MMAP) && defined(MADV_HUGEPAGE)
  const uintptr_t huge = uintptr_t(1) << 21;
  const uintptr_t start = (reinterpret_cast<uintptr_t>(at) + huge - 1) & ~(huge - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(at) + bytes;
  if (end > start) madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
#else
  (void)at; (void)bytes;
#endif
}

static napi_value attach(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  bool isView = false;
  CHECK(napi_is_typedarray(env, argv[0], &isView));
  if (!isView) { napi_throw_type_error(env, nullptr, "probegen native: attach takes a Uint8Array over the WASM memory"); return nullptr; }
  napi_typedarray_type type; size_t length; void* data; napi_value buffer; size_t offset;
  CHECK(napi_get_typedarray_info(env, argv[0], &type, &length, &data, &buffer, &offset));
  Instance* inst = instanceOf(env);
  inst->base = static_cast<Base>(data) - offset;
  inst->bytes = length + offset;
  adviseHugePages(inst->base, size_t(1) << 32);
  return nullptr;
}

#ifdef PG_MMAP
static void unmapRegion(napi_env, void* data, void* hint) { munmap(data, reinterpret_cast<size_t>(hint)); }
#endif

// reserve(bytes) -> [ArrayBuffer over a fresh mapping, its offset from the WASM memory's base]:
// address space for tensors past 4 GiB. MAP_NORESERVE: a page takes memory when first written,
// so a large reservation costs nothing until used; where the system refuses that (strict
// overcommit), the caller gets an error it reports, not a crash.
static napi_value reserve(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  double requested;
  CHECK(napi_get_value_double(env, argv[0], &requested));
  Instance* inst = instanceOf(env);
  if (inst->base == nullptr) { napi_throw_error(env, nullptr, "probegen native: attach() the WASM memory before reserving"); return nullptr; }
  if (!(requested >= 1 && requested <= 9007199254740991.0)) { napi_throw_range_error(env, nullptr, "probegen native: reserve takes a positive byte count"); return nullptr; }
#ifdef PG_MMAP
  const size_t bytes = static_cast<size_t>(requested);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) { napi_throw_error(env, nullptr, "probegen native: the system refused to map memory past the WASM memory (mmap failed)"); return nullptr; }
  adviseHugePages(p, bytes);
  napi_value buffer, offset, out;
  if (napi_create_external_arraybuffer(env, p, bytes, unmapRegion, reinterpret_cast<void*>(bytes), &buffer) != napi_ok) {
    munmap(p, bytes);
    napi_throw_error(env, nullptr, "probegen native: this Node cannot wrap native memory as an ArrayBuffer");
    return nullptr;
  }
  CHECK(napi_create_double(env, static_cast<double>(reinterpret_cast<intptr_t>(p) - reinterpret_cast<intptr_t>(inst->base)), &offset));
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_set_element(env, out, 0, buffer));
  CHECK(napi_set_element(env, out, 1, offset));
  return out;
#else
  napi_throw_error(env, nullptr, "probegen native: memory past the WASM memory is not supported on this system");
  return nullptr;
#endif
}

static napi_value kernelTable(napi_env env, napi_callback_info) {
  napi_value arr;
  CHECK(napi_create_array_with_length(env, KERNEL_COUNT, &arr));
  for (int i = 0; i < KERNEL_COUNT; i++) {
    napi_value entry, name, args;
    CHECK(napi_create_object(env, &entry));
    CHECK(napi_create_string_utf8(env, KERNELS[i].name, NAPI_AUTO_LENGTH, &name));
    CHECK(napi_create_int32(env, KERNELS[i].args, &args));
    CHECK(napi_set_named_property(env, entry, "name", name));
    CHECK(napi_set_named_property(env, entry, "args", args));
    CHECK(napi_set_element(env, arr, i, entry));
  }
  return arr;
}

// The kernel id and its Float64Array of arguments, checked.
static bool kernelArgs(napi_env env, napi_value idValue, napi_value argsValue, int* id, const double** args, size_t* length) {
  int32_t k;
  if (napi_get_value_int32(env, idValue, &k) != napi_ok || k < 0 || k >= KERNEL_COUNT) {
    napi_throw_range_error(env, nullptr, "probegen native: no such kernel");
    return false;
  }
  napi_typedarray_type type; void* data; napi_value buffer; size_t offset;
  if (napi_get_typedarray_info(env, argsValue, &type, length, &data, &buffer, &offset) != napi_ok || type != napi_float64_array) {
    napi_throw_type_error(env, nullptr, "probegen native: kernel arguments must be a Float64Array");
    return false;
  }
  if (instanceOf(env)->base == nullptr) {
    napi_throw_error(env, nullptr, "probegen native: attach() the WASM memory before calling kernels");
    return false;
  }
  *id = k;
  *args = static_cast<const double*>(data);
  return true;
}

static napi_value call(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int id; const double* args; size_t length;
  if (!kernelArgs(env, argv[0], argv[1], &id, &args, &length)) return nullptr;
  if ((int)length != KERNELS[id].args) { napi_throw_range_error(env, nullptr, "probegen native: wrong number of kernel arguments"); return nullptr; }
  const double r = KERNELS[id].fn(instanceOf(env)->base, args);
  napi_value out;
  CHECK(napi_create_double(env, r, &out));
  return out;
}

static napi_value run(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int id; const double* args; size_t length;
  if (!kernelArgs(env, argv[0], argv[1], &id, &args, &length)) return nullptr;
  int32_t parts;
  CHECK(napi_get_value_int32(env, argv[2], &parts));
  const int nargs = KERNELS[id].args;
  Instance* inst = instanceOf(env);
  if (parts < 1 || (size_t)parts * nargs != length || parts > (inst->pool == nullptr ? 1 : inst->pool->threads)) {
    napi_throw_range_error(env, nullptr, "probegen native: parts do not match the arguments or the threads");
    return nullptr;
  }
  if (inst->pool == nullptr) KERNELS[id].fn(inst->base, args);
  else inst->pool->run(inst->base, KERNELS[id].fn, args, nargs, parts);
  return nullptr;
}

static napi_value setThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int32_t n;
  CHECK(napi_get_value_int32(env, argv[0], &n));
  if (n < 1 || n > 1024) { napi_throw_range_error(env, nullptr, "probegen native: threads must be in [1, 1024]"); return nullptr; }
  Instance* inst = instanceOf(env);
  if (inst->pool == nullptr || inst->pool->threads != n) {
    delete inst->pool;
    inst->pool = new Pool(n);
  }
  return nullptr;
}

static napi_value simd(napi_env env, napi_callback_info) {
  napi_value out;
  CHECK(napi_create_string_utf8(env, isa.name, NAPI_AUTO_LENGTH, &out));
  return out;
}

NAPI_MODULE_INIT() {
  static std::once_flag chosen;
  std::call_once(chosen, chooseGemm);
  napi_set_instance_data(env, new Instance(), finalizeInstance, nullptr);
  const napi_property_descriptor props[] = {
    {"attach", nullptr, attach, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"kernels", nullptr, kernelTable, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"call", nullptr, call, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"run", nullptr, run, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setThreads", nullptr, setThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"simd", nullptr, simd, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"reserve", nullptr, reserve, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
