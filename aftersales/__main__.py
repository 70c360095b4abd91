from aftersales.cli import main

raise SystemExit(main())
