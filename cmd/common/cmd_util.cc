#include <iostream>

#include "cmd/common/cmd.h"
#include "libzfs/zfs_core.h"

namespace uzfs::cmd {

int UsageError(const Cmd& c, const std::string& msg) {
  if (!msg.empty()) std::cerr << msg << "\n";
  std::cerr << "usage:\n";
  for (const std::string& u : c.usage) std::cerr << "\t" << u << "\n";
  return kExitUsage;
}

int Fail(const std::string& text) {
  std::cerr << text << "\n";
  return kExitError;
}

std::string CommandLine(int argc, char** argv) {
  std::string s = kProgram;
  for (int i = 0; i < argc; i++) s += std::string(" ") + argv[i];
  return s;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(',', start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

int Parse(const Cmd& c, CLI::App& app, int argc, char** argv, std::vector<std::string>* args) {
  bool help = false;
  app.set_help_flag();
  app.add_flag("--help", help);
  app.add_option("args", *args);
  app.allow_extras(false);
  app.positionals_at_end(false);
  // CLI11 wants argv[0] first: argv here starts at the subcommand name.
  std::vector<std::string> v;
  for (int i = argc - 1; i >= 1; i--) v.push_back(argv[i]);
  // An unknown short option must be reported as OpenZFS does before CLI11 sees it.
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--") break;
    if (a == "--help") {
      std::cout << "Usage: " << kProgram << " " << c.usage[0] << "\n";
      for (size_t k = 1; k < c.usage.size(); k++) std::cout << "       " << kProgram << " " << c.usage[k] << "\n";
      std::cout << "\nOptions:\n" << c.options;
      return kExitOk;
    }
  }
  try {
    app.parse(v);
  } catch (const CLI::ExtrasError& e) {
    std::string what = e.what();
    auto p = what.find(": ");
    std::string bad = p == std::string::npos ? what : what.substr(p + 2);
    bad = bad.substr(0, bad.find(' '));
    if (bad.rfind("--", 0) == 0) return UsageError(c, "invalid option '" + bad.substr(2) + "'");
    if (bad.rfind('-', 0) == 0 && bad.size() > 1) return UsageError(c, "invalid option '" + bad.substr(1, 1) + "'");
    return UsageError(c, "invalid option '" + bad + "'");
  } catch (const CLI::ArgumentMismatch& e) {
    std::string what = e.what();
    // "-o: 1 required TEXT missing" → the option letter.
    std::string opt = what.substr(0, what.find(':'));
    while (!opt.empty() && opt[0] == '-') opt.erase(0, 1);
    return UsageError(c, "missing argument for '" + opt + "' option");
  } catch (const CLI::ParseError& e) {
    return UsageError(c, e.what());
  }
  (void)help;
  return -1;
}

static int TopUsage(const std::vector<Cmd>& cmds, std::ostream& os, int code) {
  os << "usage: " << kProgram << " command args ...\nwhere 'command' is one of the following:\n\n";
  for (const Cmd& c : cmds) {
    for (const std::string& u : c.usage) os << "\t" << u << "\n";
    os << "\n";
  }
  return code;
}

int Main(const std::vector<Cmd>& cmds, int argc, char** argv,
         const std::vector<std::pair<std::string, std::string>>& aliases) {
  if (argc < 2) {
    std::cerr << "missing command\n";
    return TopUsage(cmds, std::cerr, kExitUsage);
  }
  std::string sub = argv[1];
  if (sub == "--help" || sub == "-?" || sub == "help") return TopUsage(cmds, std::cout, kExitOk);
  for (const auto& [from, to] : aliases)
    if (sub == from) sub = to;
  for (const Cmd& c : cmds)
    if (sub == c.name) return c.run(c, argc - 1, argv + 1);
  std::cerr << "unrecognized command '" << sub << "'\n";
  return TopUsage(cmds, std::cerr, kExitUsage);
}

int RunVersion(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (!args.empty()) return UsageError(self, "too many arguments");
  std::cout << "uzfs-" UZFS_VERSION "\n";
  auto v = lzc::Version();
  if (!v.ok()) return Fail(v.status().message());
  std::cout << (v->version.empty() ? "zfsd-?" : v->version) << "\n";
  return kExitOk;
}

}  // namespace uzfs::cmd
