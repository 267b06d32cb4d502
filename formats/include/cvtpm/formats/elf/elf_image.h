// A bounds-checked reader for static x86-64 ELF executables, as firmware images are: the
// loadable segments (at their physical addresses), the entry point and the notes. Anything else
// (32-bit, big-endian, relocatable, shared or dynamically linked files, other machines) is
// rejected with the byte offset and the reason.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cvtpm/formats/elf/elf64.h"
#include "cvtpm/support/files.h"

namespace cvtpm::formats::elf {

struct LoadSegment {
  std::uint64_t paddr;  // load address (physical; firmware runs identity mapped)
  std::uint64_t memsz;  // bytes in memory; those past the file bytes are zero
  std::uint32_t flags;  // kPfRead | kPfWrite | kPfExecute
  std::span<const std::uint8_t> file_bytes;  // filesz bytes from the file
};

struct Note {
  std::string name;  // without the terminating NUL
  std::uint32_t type;
  std::span<const std::uint8_t> desc;
};

class ElfImage {
 public:
  // Throws InputError naming `name` and the offset of what is wrong.
  static ElfImage parse(ByteBuffer bytes, std::string name);

  const std::string& name() const { return name_; }
  // The whole file; segments' file_bytes point into it.
  const ByteBuffer& buffer() const { return bytes_; }
  std::uint64_t entry() const { return entry_; }
  // PT_LOAD segments sorted by address; they do not overlap.
  const std::vector<LoadSegment>& segments() const { return segments_; }
  const std::vector<Note>& notes() const { return notes_; }
  // The 32-bit PVH entry (XEN_ELFNOTE_PHYS32_ENTRY), if the image has that note.
  std::optional<std::uint32_t> pvh_entry() const;

  // [lowest segment address, highest segment end).
  std::uint64_t lowest_address() const;
  std::uint64_t highest_address() const;

 private:
  ElfImage(ByteBuffer bytes, std::string name) : bytes_(std::move(bytes)), name_(std::move(name)) {}
  void parse_headers();
  void parse_notes(const ProgramHeader& ph, std::size_t ph_offset);

  ByteBuffer bytes_;
  std::string name_;
  std::uint64_t entry_ = 0;
  std::vector<LoadSegment> segments_;
  std::vector<Note> notes_;
};

}  // namespace cvtpm::formats::elf
