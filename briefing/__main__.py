from briefing.cli import main

if __name__ == "__main__":  # guarded: process-pool workers import this module too
    main()
