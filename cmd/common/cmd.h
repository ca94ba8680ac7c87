// What the zpool and zfs front ends share: the subcommand table entry, argument parsing with
// OpenZFS's messages, and the exit conventions.
//
// Conventions (OpenZFS's): exit 0 on success, 1 on an operation error ("cannot <verb>
// '<name>': <reason>" on stderr), 2 on bad usage (the message, then "usage:" and the
// subcommand's usage lines on stderr). `PROG SUB --help` prints "Usage: PROG SUB ..." and
// the option table on stdout (what man/man8/PROG-SUB.8's SYNOPSIS must equal).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace uzfs::cmd {

inline constexpr int kExitOk = 0, kExitError = 1, kExitUsage = 2;

// The program's name ("zpool", "zfs"), defined by each binary's main.cc.
extern const char* const kProgram;

struct Cmd {
  const char* name;
  std::vector<std::string> usage;  // without the program name
  std::string options;             // the --help option table
  int (*run)(const Cmd& self, int argc, char** argv);
};

// Prints msg (when non-empty), then "usage:" and the usage lines, to stderr; returns 2.
int UsageError(const Cmd& c, const std::string& msg);
// Prints text to stderr, returns 1.
int Fail(const std::string& text);
// The command line as `zpool history` records it ("zpool create tank /tmp/a").
std::string CommandLine(int argc, char** argv);

// Parses argv with app (flags/options registered by the caller, positionals collected into
// *args) and maps CLI11's errors to OpenZFS's messages ("invalid option 'x'", "missing
// argument for 'o' option"). Returns -1 when parsing succeeded and the caller goes on,
// else the exit code to return (--help prints and gives 0).
int Parse(const Cmd& c, CLI::App& app, int argc, char** argv, std::vector<std::string>* args);

// The whole main() of a command with subcommands: "missing command" / "unrecognized
// command 'x'" with the list of usages (exit 2), --help / -? / help (exit 0), else the
// subcommand's run. aliases map another word to a subcommand's name (zfs umount).
int Main(const std::vector<Cmd>& cmds, int argc, char** argv,
         const std::vector<std::pair<std::string, std::string>>& aliases = {});
// The version subcommand of both: "uzfs-VERSION", then zfsd's version (or the connect error,
// exit 1), as OpenZFS prints zfs-X and zfs-kmod-X.
int RunVersion(const Cmd& self, int argc, char** argv);

// Splits "a,b,c".
std::vector<std::string> SplitComma(const std::string& s);

}  // namespace uzfs::cmd
