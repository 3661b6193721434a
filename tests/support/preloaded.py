"""Many short Django commands in many baked projects, each in a fresh process forked from
one that has already imported Django and the project's requirements.

    with Preloaded(python) as django:
        done = django.run(project, ["check"], env)   # as `python manage.py check`
        done.returncode, done.stdout, done.stderr

`python manage.py ...` spends about a second importing before it does anything; a child
forked from a process that imported those modules once starts in a fraction of that, and
is otherwise the same: its own settings, environment, working folder and database
connections, as manage.py sets them up. test_answers.py runs a few hundred such commands.
`run` takes `["-c", source, *args]` too, as `python -c` does.
"""

import json
import os
import select
import signal
import subprocess
import threading

from conftest import project_env

# Runs in the project's virtualenv: imports what every project imports, then forks a child
# per request line ({"cwd", "argv", "env"}) and answers with its exit code and output.
SERVER = r"""
import json, os, sys, tempfile
import django, django.core.management, django.test.runner, dj_database_url, dotenv
# What some projects import, where this virtualenv has it: only modules that import
# without settings (the options' libraries take half a second between them).
for module in ('psycopg', 'MySQLdb', 'celery', 'sentry_sdk.integrations.django',
               'storages.backends.s3', 'csp.middleware', 'django.contrib.admin',
               'django.core.management.commands.migrate'):
    try:
        __import__(module)
    except ImportError:
        pass

for line in sys.stdin:
    request = json.loads(line)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # the requests are the parent's
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            code = 1
            try:
                os.chdir(request['cwd'])
                os.environ.clear()
                os.environ.update(request['env'])
                argv = request['argv']
                if argv[0] == '-c':
                    sys.argv = ['-c', *argv[2:]]
                    sys.path.insert(0, '')
                    exec(compile(argv[1], '<string>', 'exec'), {'__name__': '__main__'})
                else:
                    sys.argv = ['manage.py', *argv]
                    sys.path.insert(0, request['cwd'])
                    os.environ.setdefault('DJANGO_SETTINGS_MODULE', request['settings'])
                    django.core.management.execute_from_command_line(sys.argv)
                code = 0
            except SystemExit as exit:
                code = exit.code if isinstance(exit.code, int) else 1
            except BaseException:
                import traceback
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        out.seek(0)
        err.seek(0)
        print(json.dumps({'returncode': code, 'stdout': out.read().decode(errors='replace'),
                          'stderr': err.read().decode(errors='replace')}), flush=True)
"""


class Preloaded:
    """A server process in the virtualenv of `python`; one request at a time."""

    def __init__(self, python):
        self.python = python
        self.lock = threading.Lock()
        # A process group of its own, with the children it forks: a command that hangs
        # takes them all down with it (run's timeout).
        self.process = subprocess.Popen([str(python), "-c", SERVER], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True,
                                        env=project_env(python), start_new_session=True)

    def run(self, project, argv, env=None, check=True, timeout=300):
        """As `python manage.py *argv` (or `python -c ...`) in `project`, with the
        project's environment (conftest.project_env) and `env`. A command still running
        after `timeout` seconds is killed, with the server, and fails the test."""
        settings = f"{_package(project)}.settings"
        request = {"cwd": str(project), "argv": [str(arg) for arg in argv],
                   "env": project_env(self.python, **(env or {})), "settings": settings}
        with self.lock:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            # Each answer is one whole line, read whole: nothing waits in the buffer.
            if not select.select([self.process.stdout], [], [], timeout)[0]:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
                raise AssertionError(f"{' '.join(map(str, argv))[:200]} still ran after "
                                     f"{timeout} s")
            answer = json.loads(self.process.stdout.readline())
        done = subprocess.CompletedProcess(argv, answer["returncode"], answer["stdout"],
                                           answer["stderr"])
        if check and done.returncode:
            raise AssertionError(f"{' '.join(map(str, argv))[:200]} exited {done.returncode}"
                                 f"\n{done.stdout}\n{done.stderr}")
        return done

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _package(project):
    """The project's package: the folder beside manage.py that holds settings.py."""
    return next(path.parent.name for path in project.glob("*/settings.py"))
