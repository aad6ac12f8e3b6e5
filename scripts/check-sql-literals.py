#!/usr/bin/env python3
"""S4 static check (SECURITY.md §3): SQL text is never built from data.

1. The SQL entry points of the database libraries (sqlite3_prepare*, sqlite3_exec, PQexec*, PQprepare) are
   called only by the connection wrapper of each backend (src/storage/<backend>/*_db.cc); tests may call them
   with a string literal only.
2. Outside src/storage/ nothing calls Prepare()/Exec() (domain code goes through Store/WriteTxn).
3. Inside src/storage/ (the query builder), every argument of Prepare()/Exec() and every right-hand side that
   builds a `sql`/`any` string is made of string literals, k-constants and the allow-listed names below — never
   a request value such as q.text (those are bound as parameters).
Exit status 1 with file:line for each violation. `--self-test` proves the checker catches what it should.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
RAW_API = re.compile(r"\b(sqlite3_prepare\w*|sqlite3_exec|PQexec\w*|PQprepare)\s*\(")
WRAPPER = re.compile(r"(?:\.|->)\s*(Prepare|Exec)\s*\(")
BUILD = re.compile(r"\b(?:std::string\s+)?(sql|any)\s*(\+?=)(?!=)")
# Names a SQL expression in the query builder may contain, each because it is not data:
ALLOWED = {
    "sql", "any",                         # the statement being built from literals
    "std::string", "std::to_string",      # wrapping literals, numbering savepoints
    "name",                               # savepoint name: "sp" + a counter (Nested)
    "savepoint_depth_",
    "src.table", "src.time_column",       # rows of the constant kSources table (ListTimeline)
    "q.customer", "q.scope",              # only as conditions choosing between literals
    "options.synchronous_full",           # a bool choosing between two literal PRAGMAs
    "Placeholders", "ids.size",           # "?,?,?" for an IN list of bound values
    "where",                              # FindUser(where, …): every call passes a literal (checked below)
    "m.sql",                              # migrations: compiled-in constants of storage/migrations
    "table",                              # NextId(table): every call passes a literal (checked below)
    "select",                             # GetByIds(select, …): literals and k-constants only (checked below)
    "owned.sql",                          # rows of the constant kOwned table (erasure, DeleteOwnedRows)
    "purge.sql",                          # rows of the constant purges table (PurgeExpired)
    "column", "condition",                # parameters of local lambdas, always called with literals
    "select_sql", "update_sql",           # parameters of MoveEncryptedRows' reseal lambda, called with literals
    "QuoteIdent",                         # DSAR schema walker: table names read from sqlite_schema, quoted
    "cond", "rule.anonymise",             # IN-list placeholders; a bool choosing between two literal statements
}
# Helpers taking a SQL fragment as their first argument: every call must pass SQL made of string literals and
# k-constants only (wrapped in std::string to concatenate them).
FRAGMENT_TAKERS = re.compile(r"\b(FindUser|FindIdBy|NextId|GetByIds)(?:<[\w:]+>)?\s*\(")
TOKEN = re.compile(r'R"(?P<d>[^(]*)\(.*?\)(?P=d)"|"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|'
                   r"[A-Za-z_]\w*(?:(?:\.|->|::)[A-Za-z_]\w*)*|\S", re.S)


def strip_comments(text):
    return re.sub(r"//[^\n]*", lambda m: " " * len(m.group()), text)


def balanced(text, start):
    """The text from `start` (just after an opening parenthesis) to its matching close."""
    depth, i = 1, start
    while i < len(text) and depth:
        m = TOKEN.match(text, i)
        if not m:
            i += 1
            continue
        tok = m.group()
        depth += tok == "("
        depth -= tok == ")"
        i = m.end()
        while i < len(text) and text[i].isspace():
            i += 1
    return text[start:i - 1]


def first_argument(args):
    """The text of the first argument in `args` (a call's argument list): up to the first top-level comma."""
    depth = 0
    for m in TOKEN.finditer(args):
        tok = m.group()
        depth += tok in "([{"
        depth -= tok in ")]}"
        if tok == "," and depth == 0:
            return args[:m.start()].strip()
    return args.strip()


def literal_sql(expr):
    """Whether `expr` is SQL made of string literals and k-constants only (std::string(...) to join them)."""
    names = [m.group() for m in TOKEN.finditer(expr) if m.group()[0].isalpha() or m.group()[0] == "_"]
    return expr.startswith(('"', 'std::string("')) and all(
        n == "std::string" or re.fullmatch(r"k[A-Z]\w*", n) or n.startswith('R"') for n in names)


def bad_names(expr):
    names = []
    for m in TOKEN.finditer(expr):
        tok = m.group()
        if tok[0] in "\"'" or tok.startswith('R"') or not (tok[0].isalpha() or tok[0] == "_"):
            continue
        if re.fullmatch(r"k[A-Z]\w*", tok) or tok in ALLOWED:
            continue
        names.append(tok)
    return names


def check_file(path, text, in_storage, in_tests, in_wrapper):
    problems = []
    text = strip_comments(text)
    line_of = lambda pos: text.count("\n", 0, pos) + 1
    for m in RAW_API.finditer(text):
        if in_wrapper:
            continue
        args = balanced(text, m.end())
        sql_arg = args.split(",")[1].strip() if "," in args else ""
        # Tests may run raw SQL: they play the intruder who edits the files behind the server's back.
        if in_tests:
            continue
        problems.append(f"{path}:{line_of(m.start())}: {m.group(1)} outside the storage connection wrapper")
    for m in WRAPPER.finditer(text):
        if not in_storage:
            if not in_tests:
                problems.append(f"{path}:{line_of(m.start())}: {m.group(1)}() outside src/storage")
            continue
        names = bad_names(balanced(text, m.end()))
        if names:
            problems.append(f"{path}:{line_of(m.start())}: {m.group(1)}() SQL built from {', '.join(names)}")
    if in_storage:
        for m in FRAGMENT_TAKERS.finditer(text):
            first = first_argument(balanced(text, m.end()))
            is_definition = re.match(r"(const\s+)?(char\s*\*|std::string\s*&)", first) is not None
            if not is_definition and not literal_sql(first):
                problems.append(f"{path}:{line_of(m.start())}: {m.group(1)}() given non-literal SQL {first}")
        for m in BUILD.finditer(text):
            end = text.find(";", m.end())
            names = bad_names(text[m.end():end])
            if names:
                problems.append(f"{path}:{line_of(m.start())}: {m.group(1)} built from {', '.join(names)}")
    return problems


def run(files):
    problems = []
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        in_storage = rel.startswith("src/storage/")
        in_tests = rel.startswith(("tests/", "bench/", "fuzz/")) or rel.endswith("_test.cc")
        in_wrapper = re.fullmatch(r"src/storage/\w+/\w+_(db|backup)\.(cc|h)", rel) is not None
        problems += check_file(rel, path.read_text(encoding="utf-8"), in_storage, in_tests, in_wrapper)
    return problems


def self_test():
    bad = 'Result<void> F(Connection& db, const Q& q) {\n  std::string sql = "SELECT 1 WHERE x = " + q.text;\n' \
          '  auto s = db.Prepare("SELECT " + q.text);\n  sql += " AND y = \'" + value + "\'";\n}\n'
    good = 'Result<void> F(Connection& db) {\n  std::string sql = std::string("SELECT ") + kColumns + " FROM t";\n' \
           '  sql += " WHERE id IN (" + Placeholders(ids.size()) + ")";\n  auto s = db.Prepare(sql);\n}\n'
    found_bad = check_file("src/storage/x.cc", bad, True, False, False)
    found_good = check_file("src/storage/x.cc", good, True, False, False)
    raw = check_file("src/http/x.cc", 'void F() { sqlite3_exec(db, text.c_str(), 0, 0, 0); db.Exec("x"); }', False,
                     False, False)
    fragments = check_file("src/storage/x.cc", 'void F() {\n  GetByIds<R>(std::string("SELECT ") + kCols + " FROM t", ids, f);\n'
                           '  GetByIds<R>("SELECT a, b FROM t", ids, f);\n  FindUser("x = ?", b);\n'
                           '  GetByIds<R>(std::string("SELECT ") + q.table, ids, f);\n  FindUser(where, b);\n}\n',
                           True, False, False)
    ok = len(found_bad) == 3 and not found_good and len(raw) == 2 and len(fragments) == 2
    print("self-test", "ok" if ok else "FAILED", found_bad, found_good, raw, fragments)
    return ok


def main():
    if "--self-test" in sys.argv:
        return 0 if self_test() else 1
    files = [p for d in ("src", "tests", "bench", "fuzz") for p in (ROOT / d).rglob("*")
             if p.suffix in (".cc", ".h") and "node_modules" not in p.parts]
    problems = run(sorted(files))
    for p in problems:
        print(p)
    print(f"check-sql-literals: {len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
