from ecrm_dsl.cli import main

main()
