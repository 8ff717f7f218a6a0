"""What the dynamic loaders assume per architecture: default directories, `$LIB`, `$PLATFORM`,
ld.so.cache flags, musl's architecture name, glibc-hwcaps subdirectories."""

from __future__ import annotations

from dataclasses import dataclass, replace

from slimmer.elf.header import (
    ELFCLASS64,
    ELFDATA2MSB,
    EM_386,
    EM_AARCH64,
    EM_ARM,
    EM_X86_64,
    ElfHeader,
)

# ld.so.cache entry flags (glibc sysdeps/generic/ldconfig.h)
FLAG_TYPE_MASK = 0x00FF
FLAG_ELF = 0x0001
FLAG_ELF_LIBC6 = 0x0003
FLAG_REQUIRED_MASK = 0xFF00
FLAG_X8664_LIB64 = 0x0300
FLAG_X8664_LIBX32 = 0x0800
FLAG_ARM_LIBHF = 0x0900
FLAG_AARCH64_LIB64 = 0x0A00
FLAG_ARM_LIBSF = 0x0B00


@dataclass(frozen=True)
class Machine:
    name: str
    triplet: str  # Debian multiarch tuple
    default_dirs: tuple[str, ...]  # glibc's system directories, all known distro layouts
    lib_names: tuple[str, ...]  # what `$LIB` may expand to
    platforms: tuple[str, ...]  # every value `$PLATFORM` may take on this architecture
    cache_flags: int | None  # FLAG_REQUIRED_MASK bits cache entries must carry (None: any)
    cache_flags_optional: bool  # whether entries without those bits are accepted too (ARM)
    musl_arch: str
    hwcaps: tuple[str, ...] = ()

    def accepts_cache_flags(self, flags: int) -> bool:
        if flags & FLAG_TYPE_MASK not in (FLAG_ELF, FLAG_ELF_LIBC6):
            return False
        if self.cache_flags is None:
            return True
        required = flags & FLAG_REQUIRED_MASK
        return required == self.cache_flags or (self.cache_flags_optional and required == 0)

    def platform_views(self) -> tuple[Machine, ...]:
        """One machine per `$PLATFORM` value: the running loader uses exactly one of them, which
        one depends on the CPU of the machine the image runs on, so each is searched apart."""
        if len(self.platforms) <= 1:
            return (self,)
        return tuple(replace(self, platforms=(value,)) for value in self.platforms)


def _machine(
    name: str,
    triplet: str,
    wordlib: str,
    cache_flags: int | None,
    musl_arch: str,
    platforms: tuple[str, ...],
    hwcaps: tuple[str, ...] = (),
    optional: bool = False,
) -> Machine:
    """Debian-style multiarch directories first, then the distro word-size directory
    (/lib64, /lib32, /libx32), then /lib and /usr/lib."""
    dirs = [f"/lib/{triplet}", f"/usr/lib/{triplet}"]
    if wordlib:
        dirs += [f"/{wordlib}", f"/usr/{wordlib}"]
    dirs += ["/lib", "/usr/lib"]
    lib_names = (f"lib/{triplet}", *((wordlib,) if wordlib else ()), "lib")
    return Machine(
        name=name,
        triplet=triplet,
        default_dirs=tuple(dirs),
        lib_names=lib_names,
        platforms=platforms,
        cache_flags=cache_flags,
        cache_flags_optional=optional,
        musl_arch=musl_arch,
        hwcaps=hwcaps,
    )


# `$PLATFORM` values. glibc starts from the kernel's AT_PLATFORM, then on x86 replaces it by
# its own CPU detection (sysdeps/x86/cpu-features.c): x86_64 and x32 loaders say "haswell"
# (AVX2, FMA, BMI1/2, LZCNT, MOVBE, POPCNT usable) or "xeon_phi" (AVX-512ER/PF) on capable Intel
# CPUs, i386 loaders "i686" or "i586". aarch64 keeps AT_PLATFORM ("aarch64"); 32-bit ARM's
# AT_PLATFORM names the CPU's architecture version ("v7l", "v8l" under a 64-bit kernel, ...).
X86_PLATFORMS = ("x86_64", "haswell", "xeon_phi")
X86_64 = _machine(
    "x86_64", "x86_64-linux-gnu", "lib64", FLAG_X8664_LIB64, "x86_64", X86_PLATFORMS,
    hwcaps=("x86-64-v4", "x86-64-v3", "x86-64-v2"),
)
X32 = _machine("x32", "x86_64-linux-gnux32", "libx32", FLAG_X8664_LIBX32, "x32", X86_PLATFORMS)
I386 = _machine("i386", "i386-linux-gnu", "lib32", 0, "i386", ("i686", "i586", "i486", "i386"))
AARCH64 = _machine(
    "aarch64", "aarch64-linux-gnu", "lib64", FLAG_AARCH64_LIB64, "aarch64", ("aarch64",)
)
ARMHF = _machine(
    "armhf", "arm-linux-gnueabihf", "", FLAG_ARM_LIBHF, "armhf", ("v7l", "v8l", "v6l"),
    optional=True,
)
ARMEL = _machine(
    "armel", "arm-linux-gnueabi", "", FLAG_ARM_LIBSF, "arm", ("v7l", "v8l", "v6l", "v5l"),
    optional=True,
)


OTHER = Machine(
    name="other",
    triplet="",
    default_dirs=("/lib64", "/usr/lib64", "/lib", "/usr/lib"),
    lib_names=("lib64", "lib"),
    platforms=(),
    cache_flags=None,
    cache_flags_optional=False,
    musl_arch="",
)


def machine_of(header: ElfHeader) -> Machine:
    """The loader facts for an ELF's architecture (generic ones for architectures we do not
    model: candidates are still checked against the ELF header)."""
    little = header.data != ELFDATA2MSB
    if header.machine == EM_X86_64 and little:
        return X86_64 if header.elf_class == ELFCLASS64 else X32
    if header.machine == EM_386 and little:
        return I386
    if header.machine == EM_AARCH64 and little and header.elf_class == ELFCLASS64:
        return AARCH64
    if header.machine == EM_ARM and little:
        return ARMEL if header.arm_float == "soft" else ARMHF
    return OTHER
