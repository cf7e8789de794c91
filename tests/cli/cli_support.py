"""What the CLI tests share: run the program and collect failures rather than stop at the first."""
import subprocess


class Checks:
    def __init__(self, binary, timeout=300):
        self.binary = binary
        self.timeout = timeout
        self.failures = []

    def run(self, *args, expect=0):
        p = subprocess.run([self.binary, *args], capture_output=True, text=True,
                           timeout=self.timeout)
        if p.returncode != expect:
            self.failures.append(f"{' '.join(args[:2])}: exit {p.returncode}, expected {expect}"
                                 f"\n{p.stdout}\n{p.stderr}")
        return p

    def check(self, cond, what):
        if not cond:
            self.failures.append(what)
