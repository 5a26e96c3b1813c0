# steady-reuse.gp -- written by gpusim-bench: the policies of scenario steady-reuse.
# Draw again with: gnuplot steady-reuse.gp (in this directory)
$data << EOD
# policy sim_time_ns blocked_ns pinned_pages violations
"none" 197719425 0 0 0
"pin" 360234600 0 32768 0
"pin-persistent" 99805341 0 32768 0
"fence-wait" 197719425 0 0 0
"fence-reload" 197719425 0 0 0
"refault" 111793504 0 0 0
EOD
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.8
set xtics rotate by 30 right nomirror
set grid ytics
set key off
set terminal svg size 1000,700 dynamic noenhanced font 'sans,11' background '#ffffff'
set output 'steady-reuse.svg'
set multiplot layout 2,2 title 'steady-reuse'
set title 'GPU completion time (sim_time_ns)'
set ylabel 'ms'
set yrange [0:396.258]
plot $data using ($2 / 1000000):xtic(1) notitle lc rgb '#4477aa'
set title 'invalidator blocked time (notifier.blocked_ns)'
set ylabel 'ns'
set yrange [0:1]
plot $data using ($3 / 1):xtic(1) notitle lc rgb '#ee6677'
set title 'pinned pages, peak (host.pinned_pages_peak)'
set ylabel 'pages'
set yrange [0:36044.8]
plot $data using ($4 / 1):xtic(1) notitle lc rgb '#228833'
set title 'violations (checker.use_after_free + stale)'
set ylabel 'count'
set yrange [0:1]
plot $data using ($5 / 1):xtic(1) notitle lc rgb '#aa3377'
unset multiplot
unset output
set terminal pngcairo size 1000,700 noenhanced font 'sans,10'
set output 'steady-reuse.png'
set multiplot layout 2,2 title 'steady-reuse'
set title 'GPU completion time (sim_time_ns)'
set ylabel 'ms'
set yrange [0:396.258]
plot $data using ($2 / 1000000):xtic(1) notitle lc rgb '#4477aa'
set title 'invalidator blocked time (notifier.blocked_ns)'
set ylabel 'ns'
set yrange [0:1]
plot $data using ($3 / 1):xtic(1) notitle lc rgb '#ee6677'
set title 'pinned pages, peak (host.pinned_pages_peak)'
set ylabel 'pages'
set yrange [0:36044.8]
plot $data using ($4 / 1):xtic(1) notitle lc rgb '#228833'
set title 'violations (checker.use_after_free + stale)'
set ylabel 'count'
set yrange [0:1]
plot $data using ($5 / 1):xtic(1) notitle lc rgb '#aa3377'
unset multiplot
unset output
