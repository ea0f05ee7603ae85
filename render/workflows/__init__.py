"""What the GitHub workflows run, beyond rendering: deploys that render, commit and push
(deploy), the release files and their plans (release), the pull-request comment
(pr_comment) and its change summary (change_summary), scope checks (scope), the GitHub API
(github_api) and the Actions files of a run (actions). Git itself is render.git.
"""
