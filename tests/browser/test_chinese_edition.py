"""The Chinese edition in JupyterLab: a student's copy made with `bundle --lang zh`, installed
from the bundle alone, shows a Chinese lecture with its explorer and plots in Chinese, and a
Chinese assignment with Chinese stubs that Validate passes."""

import re
import secrets
import subprocess

import nbformat
import pytest
from playwright.sync_api import expect
from student_env import make_student_env

from grader.simulate import completed

from .conftest import ROOT, Lab, free_port, jupyter_home, start_lab, stop_lab
from .lab_pages import editor_of_cell_containing, open_notebook, run_all_until_widget

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LECTURE_4 = "lectures/04_vanishing_exploding_gradients.ipynb"
AID = "a1_scalar_backprop"
CJK = re.compile(r"[\u4e00-\u9fff]")
VALIDATE_TIMEOUT = 90_000  # ms: nbgrader runs the whole notebook in a new kernel


@pytest.fixture(scope="module")
def zh_student_lab(tmp_path_factory):
    """`backprop-course lab` from a student's venv whose copy is the Chinese edition; nothing
    tells it the language but what the bundle recorded."""
    env_ = make_student_env(tmp_path_factory.mktemp("student-zh"), lang="zh")
    home = tmp_path_factory.mktemp("student-zh-jupyter")
    port, token = free_port(), secrets.token_hex(16)
    env = {**env_.environ(), **jupyter_home(home, port, token)}
    env.pop("BACKPROP_COURSE_LANG", None)
    subprocess.run([str(env_.venv / "bin" / "jupyter"), "trust",
                    *sorted(env_.copy.glob("lectures/*.ipynb"))],
                   env=env, check=True, capture_output=True)
    with open(home / "lab.log", "w") as log:
        lab = Lab(port, token, env_.copy)
        process = start_lab([str(env_.venv / "bin" / "backprop-course"), "lab"], home, env, lab,
                            log)
        yield lab
        stop_lab(process)


def test_a_chinese_lecture_shows_chinese_text_widgets_and_plots(zh_student_lab, browser_context,
                                                                screenshot_dir):
    page = open_notebook(browser_context, zh_student_lab, LECTURE_4)
    heading = page.locator(".jp-MarkdownOutput h1").first
    expect(heading).to_have_text(CJK)
    explorer = run_all_until_widget(page, "深度")  # the depth slider, labelled in Chinese
    expect(explorer.locator(".widget-html-content")).to_contain_text("权重标准差")
    expect(explorer.locator("img.widget-image")).to_have_attribute("src", re.compile("^(data|blob):"))
    # the lecture's own matplotlib figures, drawn by this run
    expect(page.locator(".jp-RenderedImage img").first).to_be_visible()
    explorer.screenshot(path=screenshot_dir / "lecture_widget_zh.png")
    page.close()


def test_a_chinese_assignment_shows_chinese_instructions_and_validates(zh_student_lab,
                                                                       browser_context):
    released = f"assignments/{AID}/{AID}.ipynb"  # as the bundle has it
    page = open_notebook(browser_context, zh_student_lab, released)
    expect(page.locator(".jp-MarkdownOutput").first).to_contain_text(CJK)
    expect(editor_of_cell_containing(page, "class AddGate")).to_contain_text("# 在此处编写你的代码")
    page.close()
    # every answer typed in, as a student who finished would have: Validate passes
    done = f"assignments/{AID}/{AID}_done.ipynb"
    nbformat.write(completed(ROOT / "zh" / released,
                             ROOT / "zh" / "solutions" / AID / f"{AID}.ipynb"),
                   zh_student_lab.root_dir / done)
    page = open_notebook(browser_context, zh_student_lab, done)
    page.locator(".validate-button").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_be_visible(timeout=VALIDATE_TIMEOUT)
    expect(dialog).to_contain_text("Success! Your notebook passes all the tests.")
    page.close()
