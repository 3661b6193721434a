"""The stand-in for the Dockerfile's base image (podman.py): where its Debian comes from,
and that a change to its recipe names a new image."""

import podman


def write_etc(etc, sources, sources_list=""):
    (etc / "apt" / "sources.list.d").mkdir(parents=True)
    (etc / "os-release").write_text('PRETTY_NAME="Debian 12"\nVERSION_CODENAME=bookworm\n')
    (etc / "apt" / "sources.list").write_text(sources_list)
    (etc / "apt" / "sources.list.d" / "debian.sources").write_text(sources)


def test_the_mirror_is_the_one_apt_uses_for_the_machines_own_release(tmp_path):
    write_etc(tmp_path, """\
Types: deb
URIs: http://security.example.org/debian-security
Suites: bookworm-security
Components: main

Types: deb deb-src
URIs: http://mirror.example.org/debian/
Suites: bookworm bookworm-updates
Components: main
""")
    assert podman.apt_mirror(tmp_path) == "http://mirror.example.org/debian"


def test_a_one_line_sources_list_works_too(tmp_path):
    write_etc(tmp_path, "", "deb [arch=amd64] http://old.example.org/debian bookworm main\n")
    assert podman.apt_mirror(tmp_path) == "http://old.example.org/debian"


def test_no_mirror_for_the_release_is_a_clear_error(tmp_path):
    write_etc(tmp_path, "Types: deb\nURIs: http://x.example.org/debian\nSuites: sid\n")
    try:
        podman.apt_mirror(tmp_path)
    except RuntimeError as error:
        assert str(error) == f"no Debian mirror for bookworm in apt's sources ({tmp_path / 'apt'})"
    else:
        raise AssertionError("no error")


def test_a_change_to_the_recipe_names_a_new_stand_in(monkeypatch):
    before = podman.standin_key(podman.standin_recipe("http://a.example.org/debian"))
    assert before == podman.standin_key(podman.standin_recipe("http://a.example.org/debian"))
    assert before != podman.standin_key(podman.standin_recipe("http://b.example.org/debian"))
    monkeypatch.setattr(podman, "STANDIN_CONTAINERFILE", podman.STANDIN_CONTAINERFILE + "\n")
    assert before != podman.standin_key(podman.standin_recipe("http://a.example.org/debian"))
