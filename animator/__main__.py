from animator.cli import main

raise SystemExit(main())
