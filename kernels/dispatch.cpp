#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <cpuinfo.h>
#if defined(__linux__)
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#elif defined(__aarch64__)
#include <sys/auxv.h>
#endif

#include <atomic>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernels/kernels.h"

namespace rllm::kernels {
namespace {

#if defined(__x86_64__) || defined(__i386__)
// AMX-TILE and AMX-INT8 (CPUID leaf 7: EDX bits 24, 25; Debian's cpuinfo
// predates them), and Linux's per-process permission to use the 8 KB tile
// data state (XFEATURE_XTILEDATA = 18), asked once: a tile instruction
// without it faults.
bool amx_refused = false;  // the CPU has AMX, the OS did not grant it

bool amx_usable() {
  static const bool ok = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || (d & (3u << 24)) != (3u << 24)) return false;
#if defined(__linux__)
    constexpr int kXtileData = 18;
    if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, kXtileData) == 0) return true;
    amx_refused = true;
#endif
    return false;
  }();
  return ok;
}
#endif

bool cpu_has(Isa isa) {
  if (isa == Isa::scalar) return true;
#if defined(__x86_64__) || defined(__i386__)
  if (!cpuinfo_initialize()) return false;
  if (isa == Isa::avx2) return cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3() && cpuinfo_has_x86_f16c();
  if (isa == Isa::avx512vnni)
    return cpuinfo_has_x86_avx512f() && cpuinfo_has_x86_avx512bw() && cpuinfo_has_x86_avx512vl() &&
           cpuinfo_has_x86_avx512vnni() && cpuinfo_has_x86_fma3() && cpuinfo_has_x86_f16c();
  if (isa == Isa::avx512amx) return cpu_has(Isa::avx512vnni) && amx_usable();
#elif defined(__aarch64__)
  // Linux (and qemu-user, from its -cpu model) reports the features in the
  // auxiliary vector. The NEON kernels need Advanced SIMD and the dot product
  // (sdot, ARMv8.2 optional / ARMv8.4 mandatory).
  if (isa == Isa::neon) {
    const unsigned long hw = getauxval(AT_HWCAP);
    return (hw & HWCAP_ASIMD) && (hw & HWCAP_ASIMDDP);
  }
#endif
  return false;
}

Isa best_supported() {
  for (Isa isa : {Isa::avx512amx, Isa::avx512vnni, Isa::avx2, Isa::neon})
    if (isa_supported(isa)) return isa;
  return Isa::scalar;
}

Isa choose() {
  const char* env = std::getenv("RLLM_ISA");
  if (env == nullptr || *env == '\0') return best_supported();
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512vnni, Isa::avx512amx, Isa::neon}) {
    if (std::strcmp(env, isa_name(isa)) != 0) continue;
    if (isa_supported(isa)) return isa;
    Isa fallback = best_supported();
    std::fprintf(stderr, "run-llm: RLLM_ISA=%s is not supported by this CPU/build; using %s\n", env,
                 isa_name(fallback));
    return fallback;
  }
  Isa fallback = best_supported();
  std::fprintf(stderr, "run-llm: unknown RLLM_ISA=%s (scalar|avx2|avx512vnni|avx512amx|neon); using %s\n", env,
               isa_name(fallback));
  return fallback;
}

std::atomic<int>& current() {
  static std::atomic<int> isa{static_cast<int>(choose())};
  return isa;
}

}  // namespace

bool isa_supported(Isa isa) {
  // Only ISAs with compiled kernels count: x86 builds carry
  // avx2/avx512vnni/avx512amx, aarch64 builds neon.
#if defined(__x86_64__)
  if (isa == Isa::neon) return false;
#elif defined(__aarch64__)
  if (isa != Isa::scalar && isa != Isa::neon) return false;
#else
  if (isa != Isa::scalar) return false;
#endif
  return cpu_has(isa);
}

Isa active_isa() { return static_cast<Isa>(current().load(std::memory_order_relaxed)); }

Isa set_active_isa(Isa isa) {
  assert(isa_supported(isa));
  return static_cast<Isa>(current().exchange(static_cast<int>(isa)));
}

const char* isa_note() {
#if defined(__x86_64__) || defined(__i386__)
  if (cpu_has(Isa::avx512vnni) && !amx_usable() && amx_refused) return ", AMX refused by the OS";
#endif
  return "";
}

Isa fallback_isa(Isa isa) { return isa == Isa::avx512amx ? Isa::avx512vnni : isa; }

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512vnni: return "avx512vnni";
    case Isa::avx512amx: return "avx512amx";
    case Isa::neon: return "neon";
  }
  return "?";
}

void AlignedFree::operator()(void* p) const { std::free(p); }

}  // namespace rllm::kernels
